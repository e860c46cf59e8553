"""Pairwise similarity of students' work with copydetect's winnowing (the MOSS algorithm).

Code: copydetect tokenizes Python with Pygments and replaces every variable, function and class
name by one letter (and string literals by ``S``), drops comments and whitespace, then keeps a
winnowed set of hashes of k-character windows: renaming variables, reformatting, moving cells or
adding comments does not hide a shared passage. The template's code is fingerprinted the same way
and its hashes are removed from every notebook's (boilerplate), so only student-written code
counts.

Prose: the same winnowing on raw characters (lower-cased, whitespace runs collapsed), with the
handout's Markdown as boilerplate. Written answers here are a few sentences each; copying shows as
runs of identical wording, which fingerprints find and locate for the side-by-side view, while
two honest answers to the same question share only short phrases (below k characters).
Paraphrase-level similarity would need a language model (not available offline) and would flag
honest answers that say the same right thing.

A pair's score for each kind is the share of each side's fingerprints found in the other,
averaged over the two sides (0 to 1; MOSS's measure), computed for all pairs on sorted hash arrays;
pairs sharing fewer than ``MIN_SHARED`` fingerprints score 0 (a few shared lines are no evidence).
copydetect's `compare_files` then locates the shared passages of the pairs the report shows.

copydetect hashes k-grams with Python's `hash()`, which is salted per process (PYTHONHASHSEED):
within a run every notebook is hashed alike, but which k-grams winnowing keeps changes from run
to run, so scores move by a few points between runs (set PYTHONHASHSEED=0 to repeat a run
exactly). The threshold's margins are far wider than that.
"""
from __future__ import annotations

import io
import itertools
import logging
from dataclasses import dataclass

from .extract import Boilerplate, Work

CODE_K, CODE_WINDOW = 25, 4  # noise threshold (chars of filtered code) and winnowing window
PROSE_K, PROSE_WINDOW = 40, 4  # about 7 words
MIN_SHARED = {"code": 8, "prose": 8}  # fingerprints (each stands for a run of k characters)
SEPARATOR = "\n\n"


@dataclass
class Side:
    """One notebook's text of one kind, ready to compare."""

    text: str
    """What is shown: the parts joined with SEPARATOR."""
    starts: list
    """(offset in text, cell number) of each part"""
    fingerprint: object = None
    """copydetect.CodeFingerprint, None when there is nothing to compare"""
    hashes: object = None
    """the fingerprint's hashes as a sorted numpy array"""


@dataclass
class Match:
    """How much of two notebooks' work of one kind is shared, and where."""

    score: float
    shared: int
    """fingerprints in common"""
    slices: tuple | None = None
    """(starts, ends) in each side's text, two pairs of lists of offsets (`locate`)"""


@dataclass
class Pair:
    a: Work
    b: Work
    code: Match
    prose: Match

    @property
    def score(self) -> float:
        return max(self.code.score, self.prose.score)


def _fingerprint(name: str, text: str, kind: str, boilerplate=None):
    from copydetect import CodeFingerprint

    if kind == "code":
        return CodeFingerprint(f"{name}.py", CODE_K, CODE_WINDOW, boilerplate, True, "python",
                               fp=io.StringIO(text))
    return CodeFingerprint(f"{name}.txt", PROSE_K, PROSE_WINDOW, boilerplate, False,
                           fp=io.StringIO(text.lower()))


def _prose_text(text: str) -> str:
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def side(work: Work, kind: str, boilerplate) -> Side:
    import numpy as np

    parts = work.code if kind == "code" else work.prose
    text, starts = "", []
    for part in parts:
        if text:
            text += SEPARATOR
        starts.append((len(text), part.cell))
        text += part.text if kind == "code" else _prose_text(part.text)
    out = Side(text, starts)
    if text.strip():
        try:
            fp = _fingerprint(work.id, text, kind, boilerplate)
        except Exception:  # noqa: BLE001 - a notebook Pygments cannot read is not compared
            logging.getLogger(__name__).warning("could not fingerprint %s (%s)", work.id, kind)
            return out
        if fp.hashes:
            out.fingerprint, out.hashes = fp, np.array(sorted(fp.hashes), dtype=np.int64)
    return out


def boilerplate_hashes(given: Boilerplate) -> dict:
    """kind -> the template's fingerprint hashes."""
    import numpy as np

    out = {}
    for kind, text in (("code", given.code_text), ("prose", _prose_text(given.prose_text))):
        fp = _fingerprint("template", text, kind) if text.strip() else None
        out[kind] = np.array(sorted(fp.hashes)) if fp is not None else np.array([])
    return out


def match(x: Side, y: Side, kind: str) -> Match:
    import numpy as np

    if x.hashes is None or y.hashes is None:
        return Match(0.0, 0)
    shared = len(np.intersect1d(x.hashes, y.hashes, assume_unique=True))
    if shared < MIN_SHARED[kind]:
        return Match(0.0, shared)
    return Match(round((shared / len(x.hashes) + shared / len(y.hashes)) / 2, 4), shared)


def locate(m: Match, x: Side, y: Side) -> tuple:
    """(starts, ends) of the shared passages in each side's text (copydetect)."""
    from copydetect import compare_files

    if m.slices is None:
        m.slices = (([], []), ([], []))
        if m.score and x.fingerprint is not None and y.fingerprint is not None:
            _, _, (sx, sy) = compare_files(x.fingerprint, y.fingerprint)
            if len(sx[0]):
                m.slices = ((list(map(int, sx[0])), list(map(int, sx[1]))),
                            (list(map(int, sy[0])), list(map(int, sy[1]))))
    return m.slices


def compare_all(works: list, given: Boilerplate) -> tuple:
    """(pairs sorted by score, highest first; kind -> {work id -> Side})."""
    logging.getLogger("copydetect").setLevel(logging.ERROR)
    hashes = boilerplate_hashes(given)
    sides = {kind: {w.id: side(w, kind, hashes[kind]) for w in works}
             for kind in ("code", "prose")}
    pairs = []
    for a, b in itertools.combinations(works, 2):
        pairs.append(Pair(a, b, match(sides["code"][a.id], sides["code"][b.id], "code"),
                          match(sides["prose"][a.id], sides["prose"][b.id], "prose")))
    pairs.sort(key=lambda p: (-p.score, -p.code.score, -p.prose.score, p.a.id, p.b.id))
    return pairs, sides
