"""Compile configuration -> canonical facts (optimizer, loss, metrics).

Part of ``analyse``: every spelling of the same setting gives the same fact (``'mse'`` and
``keras.losses.MeanSquaredError()`` are both ``mean_squared_error``; ``'acc'`` and
``CategoricalAccuracy()`` are both ``accuracy``).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

LOSS_ALIASES = {"mse": "mean_squared_error", "mae": "mean_absolute_error",
                "mape": "mean_absolute_percentage_error",
                "msle": "mean_squared_logarithmic_error"}
ACCURACY_ALIASES = {"accuracy", "acc", "categorical_accuracy"}
# Optimizer settings that change how a model trains, with the value that changes nothing.
OPTIMIZER_NEUTRAL = {"weight_decay": (None, 0, 0.0), "clipnorm": (None,),
                     "global_clipnorm": (None,), "clipvalue": (None,), "use_ema": (False, None),
                     "gradient_accumulation_steps": (None, 1), "loss_scale_factor": (None, 1, 1.0)}


@dataclass
class OptimizerFacts:
    """What the serialized optimizer says."""

    class_name: str | None
    """Optimizer class (``SGD``, ``Adam``, ...)."""
    learning_rate: float | None
    """The stored learning rate (float32 precision), None for a schedule."""
    momentum: float | None
    """SGD momentum, None when the optimizer has none."""
    nesterov: bool | None
    schedule: str | None = None
    """Class name of a learning-rate schedule, when one was passed."""
    extras: dict = field(default_factory=dict)
    """Settings of ``OPTIMIZER_NEUTRAL`` that are not neutral (e.g. ``{"weight_decay": 0.01}``)."""
    settings: dict = field(default_factory=dict)
    """Every number or flag of the config (``beta_1``, ``epsilon``, ...), for settings a spec asks
    for beyond the learning rate, momentum and nesterov."""


def snake(name: str) -> str:
    name = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", str(name))
    return name.lower()


def as_float(value):
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def canonical_loss(loss) -> str | None:
    """'categorical_crossentropy' for every spelling of plain categorical cross-entropy."""
    if loss is None:
        return None
    if isinstance(loss, str):
        name = snake(loss)
        return LOSS_ALIASES.get(name, name)
    if isinstance(loss, dict):
        cls = loss.get("class_name")
        cfg = loss.get("config")
        if cls == "function" and isinstance(cfg, str):
            return canonical_loss(cfg)
        if cls == "LossFunctionWrapper" and isinstance(cfg, dict):
            inner = cfg.get("fn")
            name = canonical_loss(inner) if inner is not None else "loss_function_wrapper"
        else:
            name = LOSS_ALIASES.get(snake(cls), snake(cls))
        if not isinstance(cfg, dict):
            return name
        extras = []
        if cfg.get("from_logits"):
            extras.append("from_logits=True")
        smoothing = as_float(cfg.get("label_smoothing"))
        if smoothing:
            extras.append(f"label_smoothing={smoothing:g}")
        return f"{name}({', '.join(extras)})" if extras else name
    if isinstance(loss, (list, tuple)):
        return "[" + ", ".join(str(canonical_loss(item)) for item in loss) + "]"
    return f"unrecognised ({type(loss).__name__})"


def canonical_metric(metric) -> str:
    if isinstance(metric, str):
        name = snake(metric)
    elif isinstance(metric, dict):
        cls, cfg = metric.get("class_name"), metric.get("config")
        name = snake(cfg) if cls == "function" and isinstance(cfg, str) else snake(cls)
    else:
        return f"unrecognised ({type(metric).__name__})"
    return "accuracy" if name in ACCURACY_ALIASES else name


def canonical_metrics(metrics) -> list:
    if metrics is None:
        return []
    if isinstance(metrics, dict):  # per-output metrics
        metrics = [m for value in metrics.values()
                   for m in (value if isinstance(value, (list, tuple)) else [value])]
    if not isinstance(metrics, (list, tuple)):
        metrics = [metrics]
    return [canonical_metric(m) for m in metrics]


def optimizer_facts(serialized) -> OptimizerFacts | None:
    """Facts from ``keras.optimizers.serialize(opt)`` (or a string such as 'sgd')."""
    if serialized is None:
        return None
    if isinstance(serialized, str):
        return OptimizerFacts(serialized.upper() if serialized.lower() == "sgd" else serialized,
                              None, None, None)
    if not isinstance(serialized, dict):
        return OptimizerFacts(f"unrecognised ({type(serialized).__name__})", None, None, None)
    cfg = serialized.get("config") if isinstance(serialized.get("config"), dict) else {}
    lr = cfg.get("learning_rate")
    schedule = None
    if isinstance(lr, dict):
        schedule = str(lr.get("class_name"))
        lr = None
    momentum = cfg.get("momentum") if "momentum" in cfg else None
    nesterov = cfg.get("nesterov") if "nesterov" in cfg else None
    extras = {key: cfg[key] for key, neutral in OPTIMIZER_NEUTRAL.items()
              if key in cfg and cfg[key] not in neutral}
    settings = {key: value for key, value in cfg.items()
                if isinstance(value, (bool, int, float)) and not isinstance(value, dict)}
    return OptimizerFacts(str(serialized.get("class_name")), as_float(lr), as_float(momentum),
                          None if nesterov is None else bool(nesterov), schedule, extras,
                          settings)
