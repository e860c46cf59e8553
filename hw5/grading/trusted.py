"""The trusted checks: `python -m hw5.grading.trusted EXPORT.json ITEMS.json`.

Runs in its own process after the student's kernel has ended. It reads only the export (plain
JSON written by the student's process, so nothing in it is believed: models are rebuilt from
their configs and measured here) and writes one ItemResult per scored item of
``spec.QUESTIONS``, each with the properties it checked (``checks``: name, passed, expected,
found, message).

Limits of its own: an address-space-independent data limit (``RLIMIT_DATA``, so a model that
would need more memory fails with MemoryError instead of drawing the container's OOM killer)
and a wall-time limit per trained model (``training.MODEL_TIME_LIMIT_S``).
"""
from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from hw5.grading.answers import answer_checks, item_fraction
from hw5.kit import item_kinds, spec

from .report import ItemResult, items_to_json

# RLIMIT_DATA of this process. Grading the solution peaks at ~520 MB of VmData (private
# writable mappings, TensorFlow's included; RSS ~680 MB), measured 2026-12-03 on 2 cores.
DATA_LIMIT_MB = 1024


def limit_resources(data_mb: int = DATA_LIMIT_MB) -> bool:
    """Cap this process's data segment; False where the platform has no RLIMIT_DATA."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        want = data_mb * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (want, hard))
        return True
    except (ImportError, ValueError, OSError, AttributeError):
        return False


def grade_export(export: dict) -> list:
    """One ItemResult per scored item (see ``grade_export_checks`` for the properties)."""
    return [result for result, _ in grade_export_checks(export)]


def grade_export_checks(export: dict) -> list:
    """(ItemResult, [CheckResult]) per scored item of spec.QUESTIONS, in order."""
    from hw5.grading.training import configure_runtime

    configure_runtime()  # before TensorFlow runs any op: thresholds were calibrated this way
    from hw5.kit import analyse, checks, items

    answers = answer_checks()  # the P1.1 key and each student's P3 output (grading side only)
    bundle = analyse.analyse_export(export)
    data = None
    out = []
    for question in spec.QUESTIONS:
        for item in question.items:
            try:
                found = list(checks.run_item(item, bundle, answers))
                passed = checks.item_passed(found)
                summary = items.summary(item, bundle) if passed else ""
                if passed and item_kinds.ITEM_KINDS[item.kind].trained_by_grader:
                    if data is None:
                        from hw5.grading.training import prepare_data

                        data = prepare_data()
                    learned = learns(item.target, export, bundle, data)
                    found.append(learned)
                    passed, summary = learned.passed, learned.message
                messages = [summary] if passed else [r.message for r in found if not r.passed]
            except Exception as exc:  # one broken check costs only its own points
                found = [checks.CheckResult(item.id, False, f"could not be checked "
                                                            f"({type(exc).__name__}: {exc})")]
                passed, messages = False, [found[0].message]
            fraction = 0.0 if passed else item_fraction(found)
            out.append((ItemResult(item.id, item.points, passed, messages, fraction=fraction),
                        found))
    return out


def learns(builder_name: str, export: dict, bundle, data):
    """Train the student's model (rebuilt from its config) and compare with the threshold."""
    from hw5.grading.training import MAX_TRAINABLE_PARAMS
    from hw5.kit import checks

    builder = spec.BUILDERS[builder_name]
    entry = (export.get("builders") or {}).get(builder_name) or {}
    calls = [c for c in entry.get("calls") or [] if isinstance(c, dict)]
    index = next((i for i, c in enumerate(calls)
                  if c.get("args") == builder.train_args and c.get("model")), None)
    call_text = f"{builder_name}(**{builder.train_args})"
    if index is None or index >= len(bundle.builders[builder_name].calls):
        return checks.CheckResult("learns", False, f"{call_text} did not return a model, so it "
                                                   "could not be trained.")
    facts = bundle.builders[builder_name].calls[index].model
    params = facts.total_params if facts is not None and facts.ok else None
    if params is None:
        return checks.CheckResult("learns", False, f"{call_text}: the model could not be "
                                                   "measured, so it was not trained.")
    if params > MAX_TRAINABLE_PARAMS:
        return checks.CheckResult(
            "learns", False, f"the model has {params:,} parameters; the grader trains models of "
                             f"at most {MAX_TRAINABLE_PARAMS:,} (expected "
                             f"{spec.TOTAL_PARAMS[builder.architecture]:,}).")
    outcome = train_cached(calls[index]["model"], data)
    if outcome.error:
        return checks.check_learns(None, spec.ACCURACY_THRESHOLDS[builder_name], outcome.error)
    return checks.check_learns(outcome.accuracy, spec.ACCURACY_THRESHOLDS[builder_name])


# Grade-time training outcomes of this process, by `training_key`: a long-lived worker
# (`hw5.ta.trusted_worker`) trains an identical model export once; with `share_trainings`, once
# for all the workers of a grade-all run.
_TRAINED: dict = {}
_SHARED_DIR: Path | None = None  # set by share_trainings()


def share_trainings(directory) -> None:
    """Also keep this process's successful training outcomes as files in `directory` and reuse
    the ones other processes wrote there. Only trusted processes may be able to write it."""
    global _SHARED_DIR
    _SHARED_DIR = Path(directory)


def train_cached(model_export: dict, data):
    """`train_and_score`, once per exact model export and data in this process (or in the
    processes sharing its directory). Only successful outcomes are kept (a timeout or an
    out-of-memory error depends on the moment, not the model); the threshold is applied by the
    caller, so it is not part of the key."""
    from hw5.grading.training import train_and_score

    key = training_key(model_export, data)
    if key is None:
        return train_and_score(model_export, data)
    if key not in _TRAINED:
        outcome = _read_shared(key)
        if outcome is None:
            outcome = train_and_score(model_export, data)
            if not outcome.ok:
                return outcome
            _write_shared(key, outcome)
        _TRAINED[key] = outcome
    return _TRAINED[key]


def _read_shared(key: str):
    """A successful outcome another process wrote for `key`; None when there is none."""
    from hw5.grading.training import TrainingOutcome

    if _SHARED_DIR is None:
        return None
    try:
        data = json.loads((_SHARED_DIR / f"{key}.json").read_text(encoding="utf-8"))
        return TrainingOutcome(**data)
    except (OSError, ValueError, TypeError):
        return None


def _write_shared(key: str, outcome) -> None:
    if _SHARED_DIR is None:
        return
    path = _SHARED_DIR / f"{key}.json"
    partial = path.with_name(f".{key}.{os.getpid()}")
    try:
        partial.write_text(json.dumps(asdict(outcome)), encoding="utf-8")
        os.replace(partial, path)  # readers see the whole file or none
    except OSError:
        pass


def training_key(model_export: dict, data) -> str | None:
    """sha256 of everything training depends on: the whole model export as exported (config,
    optimizer, loss, compiled), the seed, epochs, batch size and the data's shapes. None when
    the export cannot be serialized canonically (then nothing is cached)."""
    import hashlib

    try:
        text = json.dumps([model_export, spec.GRADE_SEED, spec.GRADE_EPOCHS, spec.BATCH_SIZE,
                           [list(a.shape) for a in (data.x_train, data.x_test)]],
                          sort_keys=True, allow_nan=False)
    except (TypeError, ValueError, AttributeError):
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def to_json(graded: list) -> list:
    """items.json: ItemResult fields plus the properties checked."""
    rows = items_to_json([result for result, _ in graded])
    for row, (_, found) in zip(rows, graded):
        row["checks"] = [asdict(c) for c in found]
    return rows


def check_export_file(export_path, out_path) -> None:
    """Read EXPORT.json, write ITEMS.json: what one run of this module does (a long-lived
    worker, `hw5.ta.trusted_worker`, calls it once per export)."""
    with open(export_path, encoding="utf-8") as fh:
        export = json.load(fh)
    if not isinstance(export, dict):
        export = {}
    graded = grade_export_checks(export)
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(to_json(graded), fh)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    export_path, out_path = argv
    limit_resources()
    check_export_file(export_path, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
