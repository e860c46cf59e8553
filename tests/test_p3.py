"""The grader's P3 output is what Keras' Conv2D computes (valid cross-correlation, stride 1) on
each student's own numbers, and the numbers make a fair question."""
import numpy as np
import pytest

from hw5.grading import answers
from hw5.kit import p3, spec

IDS = ["12345678", "alice-01", "bob@example.edu", "Z9"]


def _valid_cross_correlation(x, k):
    """Written out independently of the grader's sliding-window version."""
    kh, kw = k.shape
    return np.array([[np.sum(x[i:i + kh, j:j + kw] * k) for j in range(x.shape[1] - kw + 1)]
                     for i in range(x.shape[0] - kh + 1)])


@pytest.mark.parametrize("student_id", IDS)
def test_p3_expected_is_the_valid_cross_correlation(student_id):
    x, k = (np.array(a) for a in p3.p3_numbers(student_id))
    expected = answers.p3_expected(student_id)
    assert expected.shape == spec.P3_OUTPUT_SHAPE
    np.testing.assert_array_equal(expected, _valid_cross_correlation(x, k))


def test_p3_numbers_make_a_fair_question():
    """For most IDs the usual mistakes give a different answer (the grader tells them apart), and
    the kernel has positive and negative weights."""
    distinct = 0
    for n in range(300):
        x, k = (np.array(a) for a in p3.p3_numbers(f"id{n}"))
        assert (k < 0).any() and (k > 0).sum() >= 2
        expected = _valid_cross_correlation(x, k)
        flipped = _valid_cross_correlation(x, k[::-1, ::-1])
        distinct += not (np.array_equal(flipped, expected) or np.array_equal(expected, expected.T))
    assert distinct >= 295


@pytest.mark.slow
def test_p3_expected_matches_keras_conv2d():
    import keras

    for student_id in IDS:
        x, k = (np.array(a, dtype="float32") for a in p3.p3_numbers(student_id))
        layer = keras.layers.Conv2D(1, k.shape, strides=1, padding="valid", use_bias=False)
        layer.build((1, *x.shape, 1))
        layer.set_weights([k[:, :, None, None]])
        out = np.asarray(layer(x[None, :, :, None]))[0, :, :, 0]
        np.testing.assert_array_equal(out, answers.p3_expected(student_id).astype("float32"))
