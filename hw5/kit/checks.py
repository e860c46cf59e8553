"""Every check in one namespace: ``checks.<name>`` reaches each ``check_*`` function, the result
type and the entry point of the grader (``run_item``).

In the style of scikit-learn's ``estimator_checks``: one small function per property, each
returning a ``CheckResult`` and never raising into its caller. The checks read the facts of
``analyse`` (never a live model) and the expectations of ``spec``. Reference answers, and anything
that would reveal them, are passed in by the grading side: the kit is shipped to students and
must not hold them. Where each check lives (one file per subject):

============================  ======================================================
``check_result``              ``CheckResult``, ``never_raises``, value formatting
``answer_checks``             P1.1's letter, P3's array, the student ID (format only)
``data_checks``               the processed images and labels
``layer_checks``              the architecture, layer by layer
``optimizer_checks``          the optimizer: class, learning rate, momentum, Nesterov
``model_checks``              defined, compiled, loss, metrics, can learn, grade-time verdict
``run_checks``                how a trained model was fit (``run_data_checks``: on what data)
``live_history``              the public checks' reading of a History in the student's kernel
``items``                     each scored ``spec.Item`` -> its checks (``run_item``)
============================  ======================================================

This module only re-exports; nothing imports it inside the kit but ``public``.
"""
from __future__ import annotations

from .answer_checks import (answer_value, as_matrix, check_p1_1_format,  # noqa: F401
                            check_p3_format, check_student_id_format, option_letter)
from .check_result import CheckResult, never_raises, number, shape_text, size_text  # noqa: F401
from .data_checks import check_data, check_images, check_labels  # noqa: F401
from .items import builder_items, item_passed, run_item, variable_item  # noqa: F401
from .layer_checks import (architecture_checks, check_input_shape,  # noqa: F401
                           check_layer_kinds, check_layer_settings, check_model_rebuilt,
                           check_output_shapes, check_total_params)
from .model_checks import (check_builder_calls, check_builder_compiled,  # noqa: F401
                           check_builder_defined, check_compiled, check_learns, check_loss,
                           check_metrics, check_no_constant_init, check_not_frozen,
                           check_variable_defined, check_weight_shapes, training_checks)
from .optimizer_checks import (builder_optimizer_checks, check_builder_nesterov,  # noqa: F401
                               check_learning_rate_honoured, check_learning_rate_value,
                               check_momentum_honoured, check_momentum_value,
                               check_no_momentum, check_nesterov, check_optimizer_class,
                               check_optimizer_extras, check_setting_honoured,
                               check_setting_value, optimizer_checks)
