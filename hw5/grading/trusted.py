"""The trusted checks: `python -m hw5.grading.trusted EXPORT.json ITEMS.json`.

Runs in its own process after the student's kernel has ended. It reads only the export (plain
JSON written by the student's process, so nothing in it is believed: models are rebuilt from
their configs and measured here) and writes one ItemResult per scored item.
"""
from __future__ import annotations

import json
import sys

from hw5.grading.answers import answer_checks
from hw5.kit import spec

from .report import ItemResult, items_to_json

LEARNS_PREFIX = "learns_"
# A config is untrusted input: refuse to train something absurdly large.
MAX_TRAINABLE_PARAMS = 5_000_000


def grade_export(export: dict) -> list:
    from hw5.grading.training import configure_runtime

    configure_runtime()  # before TensorFlow runs any op: thresholds were calibrated this way
    from hw5.kit import analyse, checks

    answers = answer_checks()  # the P1.1 key and each student's P3 output (grading side only)
    bundle = analyse.analyse_export(export)
    data = None
    results = []
    for question in spec.QUESTIONS:
        for item, points in ((i.id, i.points) for i in question.items):
            try:
                found = checks.run_item(item, bundle, answers)
                passed = checks.item_passed(found)
                messages = [r.message for r in found if not r.passed]
                if passed and item.startswith(LEARNS_PREFIX):
                    if data is None:
                        from hw5.grading.training import prepare_data

                        data = prepare_data()
                    passed, messages = learns(item[len(LEARNS_PREFIX):], export, bundle, data)
                elif passed:
                    messages = [found[0].message if len(found) == 1
                                else f"all {len(found)} checks passed"]
            except Exception as exc:  # one broken check costs only its own points
                passed, messages = False, [f"could not be checked ({type(exc).__name__}: {exc})"]
            results.append(ItemResult(item, points, passed, messages))
    return results


def learns(builder_name: str, export: dict, bundle, data) -> tuple:
    """Train the student's model (rebuilt from its config) and compare with the threshold."""
    from hw5.grading.training import train_and_score
    from hw5.kit import checks

    builder = spec.BUILDERS[builder_name]
    entry = (export.get("builders") or {}).get(builder_name) or {}
    calls = [c for c in entry.get("calls") or [] if isinstance(c, dict)]
    index = next((i for i, c in enumerate(calls)
                  if c.get("args") == builder.train_args and c.get("model")), None)
    if index is None:
        return False, [f"{builder_name}(**{builder.train_args}) did not return a model, so it "
                       "could not be trained."]
    params = bundle.builders[builder_name].calls[index].model.total_params or 0
    if params > MAX_TRAINABLE_PARAMS:
        return False, [f"the model has {params:,} parameters; the grader trains models of at "
                       f"most {MAX_TRAINABLE_PARAMS:,} (expected "
                       f"{spec.TOTAL_PARAMS[builder.architecture]:,})."]
    outcome = train_and_score(calls[index]["model"], data)
    if outcome.error:
        return False, [outcome.error]
    result = checks.check_learns(outcome.accuracy, spec.ACCURACY_THRESHOLDS[builder_name])
    return result.passed, [result.message]


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    export_path, out_path = argv
    with open(export_path, encoding="utf-8") as fh:
        export = json.load(fh)
    if not isinstance(export, dict):
        export = {}
    results = grade_export(export)
    with open(out_path, "w", encoding="utf-8") as fh:
        json.dump(items_to_json(results), fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
