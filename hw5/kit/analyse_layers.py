"""The effective layers of a rebuilt model: one ``LayerFacts`` per layer that does something.

Part of ``analyse`` (which re-exports the public names here). Every layer of the model is kept
(a Dropout or BatchNormalization the assignment does not ask for is a layer like any other),
except layers that provably do nothing: ``Identity`` and the dropout family at rate 0.
Activation layers are folded into the preceding conv / dense layer. Equivalent spellings give
identical facts: ``MaxPool2D`` vs ``MaxPooling2D``, an ``Activation``/``ReLU``/``Softmax``
layer vs ``activation=``, ``Reshape((-1,))`` vs ``Flatten``, tuple vs int sizes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from .analyse_compile import as_float, snake
from .analyse_guards import flat_layers

# Layers that do nothing (at any rate, or at rate 0 for the dropout family).
NO_OP_LAYERS = {"Identity"}
DROPOUT_LAYERS = {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                  "GaussianDropout", "AlphaDropout", "GaussianNoise"}
# Activation layers folded into the preceding conv / dense layer.
ACTIVATION_LAYERS = {"Activation", "ReLU", "Softmax", "LeakyReLU", "ELU"}
# Layer settings that change what a conv / dense layer learns, unset by default.
LAYER_EXTRAS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer",
                "kernel_constraint", "bias_constraint")
# Initializers that start every unit of a kernel identical (no symmetry breaking).
CONSTANT_INITIALIZERS = {"Zeros", "zeros", "zero", "Ones", "ones", "one", "Constant", "constant"}


@dataclass
class LayerFacts:
    """One effective layer of the rebuilt model (activation layers folded in)."""

    position: int
    """1-based position in the model's layer list as ``model.summary()`` shows it (no Input)."""
    class_name: str
    """Keras class of the layer (``Conv2D``, ``MaxPooling2D``, ...)."""
    name: str
    """The layer's name in the student's model."""
    kind: str
    """``conv``, ``pool`` (max pooling), ``flatten``, ``dense`` or ``other``."""
    output_shape: tuple | None = None
    """Output shape without the batch dimension."""
    params: int = 0
    """Number of weights (trainable or not)."""
    filters: int | None = None
    units: int | None = None
    kernel_size: tuple | None = None
    strides: tuple | None = None
    padding: str | None = None
    pool_size: tuple | None = None
    activation: str | None = None
    """Canonical activation name after folding (``linear`` when none)."""
    folded: list = field(default_factory=list)
    """Class names of the activation layers folded into this one."""
    trainable: bool = True
    """False when the layer (or the whole model) was frozen."""
    constant_kernel: str | None = None
    """The kernel initializer when it starts every unit identical (``Zeros``, ``Constant(0.5)``)."""
    detail: str = ""
    """What an ``other`` layer does, for messages (``rate 0.5``)."""
    extras: dict = field(default_factory=dict)
    """Settings of ``LAYER_EXTRAS`` the layer has (``{"kernel_regularizer": "L2"}``)."""

    def label(self) -> str:
        """``layer 3 (Conv2D 'conv2d_1')``, for messages."""
        return f"layer {self.position} ({self.class_name} '{self.name}')"



def _tuple(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return tuple(_tuple(v) if isinstance(v, (list, tuple)) else v for v in value)
    return (value,)


def _activation_name(fn) -> str:
    if fn is None:
        return "linear"
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return snake(name)


def _activation_of_layer(layer) -> str | None:
    """Canonical activation an activation layer applies, or None if it is not a plain one."""
    cls = type(layer).__name__
    cfg = layer.get_config()
    if cls == "Activation":
        return _activation_name(getattr(layer, "activation", None))
    if cls == "ReLU":
        plain = (cfg.get("max_value") is None and not cfg.get("negative_slope")
                 and not cfg.get("threshold"))
        return "relu" if plain else "relu(custom)"
    if cls == "Softmax":
        return "softmax" if cfg.get("axis", -1) in (-1, [-1]) else "softmax(custom axis)"
    if cls == "LeakyReLU":
        return "leaky_relu"
    if cls == "ELU":
        return "elu"
    return None


def _output_shape(layer):
    try:
        shape = layer.output.shape
    except Exception:
        return None
    return tuple(None if d is None else int(d) for d in tuple(shape)[1:])


def _input_shape(layer):
    try:
        shape = layer.input.shape
    except Exception:
        return None
    return tuple(None if d is None else int(d) for d in tuple(shape)[1:])


def constant_initializer(init) -> str | None:
    """``Zeros`` / ``Constant(0.5)`` when ``init`` (serialized) starts a kernel constant."""
    if isinstance(init, str):
        return init if init in CONSTANT_INITIALIZERS else None
    if not isinstance(init, dict) or init.get("class_name") not in CONSTANT_INITIALIZERS:
        return None
    cls = str(init.get("class_name"))
    if cls.lower() == "constant":
        value = as_float((init.get("config") or {}).get("value"))
        return f"Constant({value:g})" if value is not None else "Constant(...)"
    return cls


def _object_name(serialized) -> str:
    if isinstance(serialized, dict):
        return str(serialized.get("class_name"))
    return str(serialized)


def _is_no_op(cls: str, cfg: dict) -> bool:
    if cls in NO_OP_LAYERS:
        return True
    if cls in DROPOUT_LAYERS:
        rate = as_float(cfg.get("rate", cfg.get("stddev")))
        return rate == 0.0
    return False


def _flattens(layer, out_shape) -> bool:
    """A Reshape that turns each example into one vector does what Flatten does."""
    in_shape = _input_shape(layer)
    if out_shape is None or in_shape is None or len(out_shape) != 1 or None in in_shape:
        return False
    return out_shape[0] == math.prod(in_shape)


def _other_detail(cls: str, cfg: dict) -> str:
    for key in ("rate", "stddev", "units", "filters", "target_shape"):
        if key in cfg:
            return f"{key} {cfg[key]}"
    return ""


def effective_layers(model) -> tuple:
    """(effective layers, labels of the no-op layers left out)."""
    layers, ignored = [], []
    position = 0
    model_trainable = bool(getattr(model, "trainable", True))
    for layer in flat_layers(model):
        cls = type(layer).__name__
        if cls == "InputLayer":
            continue
        position += 1
        cfg = layer.get_config()
        if _is_no_op(cls, cfg):
            ignored.append(f"layer {position} ({cls} '{layer.name}')")
            continue
        out_shape = _output_shape(layer)
        if cls in ACTIVATION_LAYERS:
            act = _activation_of_layer(layer)
            prev = layers[-1] if layers else None
            if prev is not None and prev.kind in ("conv", "dense"):
                if prev.activation in (None, "linear"):
                    prev.activation = act
                elif not (prev.activation == act == "relu"):
                    prev.activation = f"{prev.activation}+{act}"
                prev.folded.append(cls)
                continue
            layers.append(LayerFacts(position, cls, layer.name, "other", out_shape, 0,
                                     activation=act, detail=f"activation {act}"))
            continue
        try:
            params = int(layer.count_params())
        except Exception:
            params = 0
        facts = LayerFacts(position, cls, layer.name, "other", out_shape, params)
        facts.trainable = bool(layer.trainable) and model_trainable
        if cls == "Conv2D":
            facts.kind = "conv"
            facts.filters = cfg.get("filters")
            facts.kernel_size = _tuple(cfg.get("kernel_size"))
            facts.strides = _tuple(cfg.get("strides"))
            facts.padding = str(cfg.get("padding")).lower()
            facts.activation = _activation_name(getattr(layer, "activation", None))
        elif cls == "MaxPooling2D":
            facts.kind = "pool"
            facts.pool_size = _tuple(cfg.get("pool_size"))
            facts.strides = _tuple(cfg.get("strides")) or facts.pool_size
            facts.padding = str(cfg.get("padding")).lower()
        elif cls == "Flatten" or (cls == "Reshape" and _flattens(layer, out_shape)):
            facts.kind = "flatten"
        elif cls == "Dense":
            facts.kind = "dense"
            facts.units = cfg.get("units")
            facts.activation = _activation_name(getattr(layer, "activation", None))
        else:
            facts.detail = _other_detail(cls, cfg)
        if "kernel_initializer" in cfg:
            facts.constant_kernel = constant_initializer(cfg.get("kernel_initializer"))
        facts.extras = {key: _object_name(cfg[key]) for key in LAYER_EXTRAS
                        if cfg.get(key) is not None}
        layers.append(facts)
    return layers, ignored
