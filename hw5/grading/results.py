"""The result of grading one submission as typed, plain data (like otter's `TestCaseResult`).

One model from the coordinator to the TA tools: the trusted checks write `ItemResult`s, the
pipeline adds the sandbox's status, cell errors and staff notes, `report` turns it into
Gradescope's results.json (carrying the model itself in `extra_data`) and `from_gradescope` reads
it back. Tools decide from these fields, never from the wording of a message.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from hw5.kit import item_kinds, spec

from hw5.statuses import (  # noqa: F401 - re-exported
    GRADED,
    INTERNAL_ERROR,
    KERNEL_DIED,
    MEMORY,
    NOT_A_NOTEBOOK,
    NOTEBOOK_TIMEOUT,
    STATUSES,
)
# What the student's notebook did (as opposed to INTERNAL_ERROR: the grader failed).
STUDENT_STATUSES = (NOTEBOOK_TIMEOUT, KERNEL_DIED, MEMORY, NOT_A_NOTEBOOK)

EXTRA_KEY = "hw5"  # our namespace inside Gradescope's `extra_data`


@dataclass
class Check:
    """One property checked for an item (a `hw5.kit.checks.CheckResult` as plain data)."""

    name: str
    """Short identifier of the property (``layers``, ``learning_rate``, ...)."""
    passed: bool
    """True when the property holds."""
    message: str
    """What was expected, what was found, where, what to change; for the student."""
    expected: str | None = None
    """The expected value in a few words, when the check states one."""
    found: str | None = None
    """The value found in the submission, when the check states one."""

    @classmethod
    def of(cls, result) -> Check:
        """From a `CheckResult` (whose `expected`/`found` are optional)."""
        return cls(str(result.name), bool(result.passed), str(result.message),
                   _opt_str(getattr(result, "expected", None)),
                   _opt_str(getattr(result, "found", None)))

    def to_dict(self) -> dict:
        return {"name": self.name, "passed": self.passed, "expected": self.expected,
                "found": self.found, "message": self.message}

    @classmethod
    def from_dict(cls, d: dict) -> Check:
        return cls(str(d.get("name", "")), bool(d.get("passed")), str(d.get("message", "")),
                   _opt_str(d.get("expected")), _opt_str(d.get("found")))


@dataclass
class ItemResult:
    """The outcome of one scored item (`spec.Item`) of a question."""

    id: str
    """`spec.Item.id`, e.g. ``architecture_define_model_2_conv``."""
    points: float
    """Points the item is worth."""
    passed: bool
    """Whether every check behind the item passed."""
    messages: list = field(default_factory=list)
    """For the student: each failing check's message, or one line saying what was verified."""
    checks: list = field(default_factory=list)
    """`Check` for each property checked (empty when the item could not be checked)."""
    fraction: float = 0.0
    """Share of the points earned when the item did not pass (partial credit, e.g. P3's cells)."""

    @property
    def score(self) -> float:
        if self.passed:
            return float(self.points)
        return round(float(self.points) * min(1.0, max(0.0, float(self.fraction))), 4)

    @property
    def kind(self) -> str | None:
        item = spec.ITEMS.get(self.id)
        return item.kind if item else None

    @property
    def trained_by_grader(self) -> bool:
        """Whether the item's kind is decided by grade-time training (``item_kinds.ItemKind``)."""
        kind = item_kinds.ITEM_KINDS.get(self.kind)
        return bool(kind and kind.trained_by_grader)

    @classmethod
    def from_checks(cls, item_id: str, points: float, results, summary: str | None = None):
        """An item scored by `hw5.kit.checks` results: passes when all pass; the student reads
        the failing messages, or `summary` (default: the single check's message) on success."""
        checks = [Check.of(r) for r in results]
        passed = bool(checks) and all(c.passed for c in checks)
        if passed:
            messages = [summary or (checks[0].message if len(checks) == 1
                                    else f"all {len(checks)} checks passed")]
        else:
            messages = [c.message for c in checks if not c.passed]
        return cls(item_id, float(points), passed, messages, checks)

    def to_dict(self) -> dict:
        return {"id": self.id, "passed": self.passed, "points": self.points, "score": self.score,
                "fraction": self.fraction, "checks": [c.to_dict() for c in self.checks],
                "messages": list(self.messages)}

    @classmethod
    def from_dict(cls, d: dict) -> ItemResult:
        return cls(str(d.get("id") or d.get("item") or ""), float(d.get("points") or 0),
                   bool(d.get("passed")), [str(m) for m in d.get("messages") or []],
                   [Check.from_dict(c) for c in d.get("checks") or [] if isinstance(c, dict)],
                   float(d.get("fraction") or 0.0))


@dataclass
class QuestionResult:
    """One question of `spec.QUESTIONS` and the results of its items."""

    question: spec.Question
    items: list = field(default_factory=list)
    """`ItemResult` per item of an autograded question, in spec order; empty for a manual one."""

    @property
    def score(self) -> float:
        return sum(i.score for i in self.items)

    @property
    def max_score(self) -> float:
        return float(self.question.points) if self.question.kind == spec.AUTO else 0.0

    @property
    def passed(self) -> bool:
        return all(i.passed for i in self.items)


@dataclass
class SubmissionResult:
    """Everything grading knows about one submission."""

    questions: list
    """`QuestionResult` for every question of `spec.QUESTIONS`, in order."""
    status: str = GRADED
    """One of STATUSES: how running the notebook went (GRADED: it ran and was read)."""
    messages: list = field(default_factory=list)
    """For the student, about the whole submission: cells that failed, limits hit, ..."""
    cell_errors: list = field(default_factory=list)
    """The sandbox's errors of the student's cells: dicts ``cell, ename, evalue, todo, fatal``."""
    staff_notes: list = field(default_factory=list)
    """For the course staff only (never points): student-ID mismatch, grader failures."""
    evidence: list = field(default_factory=list)
    """What the submitted notebook's saved outputs show (fewer epochs, a training subset, no
    outputs, errors in TODO cells): for the staff and the student, never points."""
    execution_time: float = 0.0
    """Wall-clock seconds the grading took."""

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    @property
    def items(self) -> dict:
        """item id -> ItemResult"""
        return {i.id: i for q in self.questions for i in q.items}

    def failed_items(self) -> list:
        """Ids of the items that lost their points, in spec order."""
        return [i.id for q in self.questions for i in q.items if not i.passed]

    @property
    def internal_error(self) -> bool:
        return self.status == INTERNAL_ERROR

    @classmethod
    def from_items(cls, items: dict, **fields) -> SubmissionResult:
        """Every question of the spec, with the items found in `items` (id -> ItemResult); an
        item missing there scores zero as "not graded"."""
        questions = []
        for q in spec.QUESTIONS:
            found = [items.get(i.id) or ItemResult(i.id, i.points, False, [NOT_GRADED])
                     for i in q.items]
            questions.append(QuestionResult(q, found))
        return cls(questions, **fields)

    @classmethod
    def ungraded(cls, status: str, messages=(), staff_notes=()) -> SubmissionResult:
        """Zero for every item, with the reason: no notebook, one that could not be read, or
        (status INTERNAL_ERROR) a grader that failed."""
        return cls.from_items({}, status=status, messages=list(messages),
                              staff_notes=list(staff_notes))


NOT_GRADED = "Not graded: see the messages at the top."


def _opt_str(value) -> str | None:
    return None if value is None else str(value)
