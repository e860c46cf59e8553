"""Scores as plain data, and the two views of them: Gradescope's results.json and a text table."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from hw5.kit import spec


@dataclass
class ItemResult:
    """The outcome of one scored item of a question (e.g. `architecture_define_model_2_conv`)."""

    item: str
    """Item name, a key of `spec.Question.items`."""
    points: float
    """Points the item is worth."""
    passed: bool
    """Whether every check behind the item passed."""
    messages: list = field(default_factory=list)
    """What was expected and found, for each failing check (or a short OK line)."""

    @property
    def score(self) -> float:
        return self.points if self.passed else 0.0


@dataclass
class QuestionResult:
    """One question as the student sees it on Gradescope."""

    question: spec.Question
    items: list
    """ItemResult for each item of an autograded question; empty for a manual one."""

    @property
    def score(self) -> float:
        return sum(i.score for i in self.items)

    @property
    def max_score(self) -> float:
        return self.question.points if self.question.kind == spec.AUTO else 0.0

    def output(self) -> str:
        if self.question.kind == spec.MANUAL:
            return f"Worth {_fmt(self.question.points)} points. {spec.MANUAL_GRADING_NOTE}"
        lines = []
        for item in self.items:
            mark = "PASS" if item.passed else "FAIL"
            lines.append(f"[{mark}] {item.item} ({_fmt(item.score)}/{_fmt(item.points)})")
            lines.extend(f"    {m}" for m in item.messages)
        return "\n".join(lines)


@dataclass
class Report:
    """Everything `hw5 grade` knows about one submission."""

    questions: list
    notes: list = field(default_factory=list)
    """Submission-level messages: unreadable notebook, cells that failed, limits hit."""
    execution_time: float = 0.0

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    def to_gradescope(self) -> dict:
        header = [f"{spec.ASSIGNMENT}: autograded {_fmt(self.score)}/{_fmt(self.max_score)}.",
                  f"Written answers ({_fmt(spec.MANUAL_POINTS)} points) are graded by the course "
                  "staff on Gradescope."]
        tests = []
        for q in self.questions:
            test = {"name": q.question.title, "score": q.score, "max_score": q.max_score,
                    "output": q.output(), "visibility": "visible"}
            if q.question.kind == spec.AUTO:
                test["status"] = "passed" if q.score >= q.max_score else "failed"
            tests.append(test)
        return {"score": self.score, "execution_time": int(round(self.execution_time)),
                "output": "\n".join(header + self.notes), "visibility": "visible",
                "stdout_visibility": "hidden", "tests": tests}

    def table(self) -> str:
        rows = [("question", "score", "max", "status")]
        for q in self.questions:
            if q.question.kind == spec.MANUAL:
                rows.append((q.question.title, "-", _fmt(q.question.points), "manual"))
            else:
                status = "ok" if q.score >= q.max_score else "lost points"
                rows.append((q.question.title, _fmt(q.score), _fmt(q.max_score), status))
        rows.append(("autograded total", _fmt(self.score), _fmt(self.max_score), ""))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        fmt = "  ".join(f"{{:<{w}}}" if i == 0 else f"{{:>{w}}}" for i, w in enumerate(widths))
        lines = [fmt.format(*r) for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return f"{x:g}"


def items_to_json(items: list) -> list:
    return [asdict(i) for i in items]


def items_from_json(data: list) -> list:
    return [ItemResult(d["item"], float(d["points"]), bool(d["passed"]), list(d["messages"]))
            for d in data]
