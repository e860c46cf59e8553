"""A JSON encoder for the export that student code cannot reach (runs in the kernel).

Every function and type it uses is bound when this file runs, before any student code: patching
``json.dumps``, ``json.JSONEncoder.encode`` / ``iterencode`` or ``json.encoder`` afterwards
changes nothing here. Subclasses of str/int/float/dict/list/tuple are read through the base
types' own methods, so their overrides are not called either.
"""
import json.encoder as _json_encoder
import math as _math

# The load contract (checked by inkernel.bootstrap_source as this file loads): what this
# file defines for the files after it, and what it uses from the files before it.
PROVIDES = ("dumps",)
NEEDS = ()

_escape = _json_encoder.encode_basestring_ascii  # the C function when available
_isfinite = _math.isfinite
_str_str = str.__str__
_int_repr = int.__repr__
_float_repr = float.__repr__
_dict_items = dict.items
_list_iter = list.__iter__
_tuple_iter = tuple.__iter__
_append = list.append
_join = "".join
_isinstance = isinstance
_len = len
_str_t, _int_t, _float_t, _dict_t, _list_t, _tuple_t = str, int, float, dict, list, tuple


class TooLarge(ValueError):
    """The encoded text would exceed the byte budget."""


def dumps(value, max_bytes=None) -> str:
    """`value` (plain data: None, bool, str, int, float, dict with str keys, list, tuple) as
    JSON text; non-finite floats become null. Raises TypeError for anything else, TooLarge
    when the text would exceed `max_bytes` characters (checked as it grows)."""
    parts = []
    size = [0]

    def emit(text):
        _append(parts, text)
        size[0] += _len(text)
        if max_bytes is not None and size[0] > max_bytes:
            raise TooLarge(f"more than {max_bytes:,} characters")

    def encode(v, depth):
        if depth > 200:
            raise TypeError("nested too deeply")
        if v is None:
            emit("null")
        elif v is True:
            emit("true")
        elif v is False:
            emit("false")
        elif _isinstance(v, _str_t):
            emit(_escape(_str_str(v)))
        elif _isinstance(v, _int_t):
            emit(_int_repr(v))
        elif _isinstance(v, _float_t):
            emit(_float_repr(v) if _isfinite(v) else "null")
        elif _isinstance(v, _dict_t):
            emit("{")
            first = True
            for key, item in _dict_items(v):
                if not _isinstance(key, _str_t):
                    raise TypeError("keys must be strings")
                if not first:
                    emit(",")
                first = False
                emit(_escape(_str_str(key)))
                emit(":")
                encode(item, depth + 1)
            emit("}")
        elif _isinstance(v, (_list_t, _tuple_t)):
            emit("[")
            items = _list_iter(v) if _isinstance(v, _list_t) else _tuple_iter(v)
            first = True
            for item in items:
                if not first:
                    emit(",")
                first = False
                encode(item, depth + 1)
            emit("]")
        else:
            raise TypeError(f"{type(v).__name__} is not plain data")

    encode(value, 0)
    return _join(parts)
