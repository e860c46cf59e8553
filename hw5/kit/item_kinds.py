"""The kinds of scored items, the one place a kind means something: the kit computes an item by
what its kind ``applies_to`` (``items``), the report labels it and the trusted grader trains it
(``trained_by_grader``) from here. A course's questions (``spec.QUESTIONS``) name these kinds;
adding a kind is engine work (its checks in ``items``), not a course change.
"""
from __future__ import annotations

from dataclasses import dataclass

# What an item's target names: a key of spec.BUILDERS, of spec.TRAINED_VARIABLES or of
# spec.ANSWER_ITEM_VARIABLES.
BUILDER = "builder"
VARIABLE = "variable"
ANSWER = "answer"


@dataclass(frozen=True)
class ItemKind:
    """What an item of this kind checks."""

    name: str
    label: str  # how the student reads the item ("{}": its target)
    applies_to: str  # BUILDER, VARIABLE or ANSWER
    # passes only if the grader's training run reaches the threshold
    trained_by_grader: bool = False


ITEM_KINDS = {k.name: k for k in (
    ItemKind("architecture", "Architecture of `{}`", BUILDER),
    ItemKind("optimizer", "Optimizer of `{}`", BUILDER),
    ItemKind("learns", "`{}` learns (trained by the grader)", BUILDER, trained_by_grader=True),
    ItemKind("variable", "Trained model `{}`", VARIABLE),
    ItemKind("answer", "Your answer", ANSWER),
)}


def item_kinds(applies_to: str) -> tuple:
    """The names of the item kinds whose target is a BUILDER, a VARIABLE or an ANSWER."""
    return tuple(k.name for k in ITEM_KINDS.values() if k.applies_to == applies_to)
