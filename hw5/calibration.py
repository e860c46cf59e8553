"""Reference and failing model exports for calibrating and testing grade-time training.

Trusted side only (tests, `scripts/calibrate_thresholds.py`, `scripts/benchmark_training.py`);
not shipped in the autograder zip, which does not need it.
"""
from __future__ import annotations

from hw5.kit import spec


def _export(source: str, builder: str, **args) -> dict:
    """The sandbox's MODEL export (docs/design.md) of ``builder(**args)`` from ``source``."""
    import keras

    from hw5.kit.describe import describe_model

    from hw5.mutants import load_builder

    keras.backend.clear_session()
    return describe_model(load_builder(source, builder)(**args))


def reference_export(builder: str, **overrides) -> dict:
    """Export of the reference model for ``builder`` called with its train_args (+ overrides)."""
    from hw5.mutants import REFERENCE_SOURCES

    args = dict(spec.BUILDERS[builder].train_args, **overrides)
    return _export(REFERENCE_SOURCES[builder], builder, **args)


def failing_export(kind: str) -> dict:
    """Exports of models that must NOT reach the threshold of their builder."""
    from hw5.mutants import MUTANTS

    if kind in ("frozen", "zero_init", "uncompiled"):  # mutants of define_model_with_momentum
        mutant = next(m for m in MUTANTS if m.name == kind)
        args = spec.BUILDERS[mutant.builder].train_args
        return _export(mutant.source, mutant.builder, **args)
    if kind == "lr_1e-5":
        return reference_export("define_model", learning_rate=1e-5)
    if kind == "lr_1.0":
        return reference_export("define_model", learning_rate=1.0)
    if kind == "two_conv_lr_1e-5":
        return reference_export("define_model_2_conv", learning_rate=1e-5)
    raise KeyError(kind)


FAILING = {  # kind -> (label, builder whose threshold it must miss)
    "frozen": ("all layers frozen (momentum model)", "define_model_with_momentum"),
    "zero_init": ("zero kernels (momentum model)", "define_model_with_momentum"),
    "lr_1e-5": ("baseline, lr 1e-5", "define_model"),
    "lr_1.0": ("baseline, lr 1.0", "define_model"),
    "two_conv_lr_1e-5": ("two convolutions, lr 1e-5", "define_model_2_conv"),
}
