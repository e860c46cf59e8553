"""The export cell: the last cell the sandbox runs in the student's kernel.

Never imported by the grader; its text is injected, followed by
``_hw5_export(<path>, <max_bytes>)`` where the path's random name is chosen by the grader only
when this cell is sent, so nothing the notebook ran earlier could have written that file. The
export is `hw5kit.describe.describe_namespace(globals())` as JSON (schema in docs/design.md);
it is untrusted data all the same: the grader parses and validates it.
"""


def _hw5_export(path, max_bytes, kit_parent):
    import importlib
    import json
    import os
    import sys

    for name in [m for m in sys.modules if m == "hw5kit" or m.startswith("hw5kit.")]:
        del sys.modules[name]
    sys.path.insert(0, kit_parent)
    _describe = importlib.import_module("hw5kit.describe")

    namespace = {k: v for k, v in globals().items() if not k.startswith("_hw5_")}
    data = _describe.describe_namespace(namespace)
    text = json.dumps(data)
    if len(text) > max_bytes:
        raise ValueError(f"the export is {len(text):,} characters, more than {max_bytes:,}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
