"""The stored P3 answer is what Keras' Conv2D computes: valid cross-correlation, stride 1."""
import numpy as np
import pytest

from hw5 import answer_key
from hw5.kit import spec


def _valid_cross_correlation(x, k):
    windows = np.lib.stride_tricks.sliding_window_view(x, k.shape)
    return np.einsum("ijab,ab->ij", windows, k)


def test_p3_answer_is_the_valid_cross_correlation():
    x, k = np.array(spec.P3_INPUT), np.array(spec.P3_KERNEL)
    expected = _valid_cross_correlation(x, k)
    answer = np.array(answer_key.P3_ANSWER)
    assert answer.shape == spec.P3_OUTPUT_SHAPE == expected.shape
    np.testing.assert_array_equal(answer, expected)


def test_p3_is_not_the_flipped_convolution():
    """The question is only meaningful if flipping the kernel changes the answer."""
    x, k = np.array(spec.P3_INPUT), np.array(spec.P3_KERNEL)
    flipped = _valid_cross_correlation(x, k[::-1, ::-1])
    assert not np.array_equal(flipped, np.array(answer_key.P3_ANSWER))


@pytest.mark.slow
def test_p3_answer_matches_keras_conv2d():
    import keras

    x = np.array(spec.P3_INPUT, dtype="float32")[None, :, :, None]
    layer = keras.layers.Conv2D(1, np.array(spec.P3_KERNEL).shape, strides=1, padding="valid",
                                use_bias=False)
    layer.build(x.shape)
    layer.set_weights([np.array(spec.P3_KERNEL, dtype="float32")[:, :, None, None]])
    out = np.asarray(layer(x))[0, :, :, 0]
    np.testing.assert_array_equal(out, np.array(answer_key.P3_ANSWER, dtype="float32"))
