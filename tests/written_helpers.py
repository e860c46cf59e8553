"""Notebooks for the written-answer PDFs: the solution with real Matplotlib plots saved in its
plotting cells (as a student's run leaves them), and an export folder as Gradescope writes it."""
from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import nbformat

PLOT_CALL = re.compile(r"^\s*plot_(training|comparison)\(", re.MULTILINE)


def curve_png(title: str, seed: int = 0, dpi: int = 72) -> bytes:
    """A real training-curve figure (two panels, like the notebook's helpers draw)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(seed)
    epochs = np.arange(1, 11)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, metric in zip(axes, ["loss", "accuracy"]):
        base = np.exp(-epochs / 3) if metric == "loss" else 1 - 0.5 * np.exp(-epochs / 3)
        ax.plot(epochs, base + rng.normal(0, 0.01, 10), label="training")
        ax.plot(epochs, base + 0.03, label="validation")
        ax.set_title(f"{title}: {metric}")
        ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def image_output(png: bytes) -> dict:
    return nbformat.v4.new_output("display_data", data={
        "image/png": base64.b64encode(png).decode("ascii"), "text/plain": "<Figure>"})


def with_plots(nb):
    """`nb` with one saved figure per plotting call in its plotting cells; returns the titles."""
    titles = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for n, _ in enumerate(PLOT_CALL.findall(cell.source)):
            title = f"plot cell {i} #{n + 1}"
            cell.outputs.append(image_output(curve_png(title, seed=i + n)))
            titles.append(title)
    return titles


def answer_cell_index(nb, question_id: str) -> int:
    """Index of the (first) answer cell of a manual question: the cell after its prompt."""
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("hw5", {}).get("question") == question_id:
            return i + 1
    raise LookupError(question_id)


def set_answer(nb, question_id: str, text: str):
    nb.cells[answer_cell_index(nb, question_id)].source = text
    return nb


def write_export(folder: Path, notebooks: dict, names: dict | None = None) -> Path:
    """A Gradescope "Export Submissions" folder: submission_<id>/hw5.ipynb and the metadata."""
    names = names or {}
    top = folder / "assignment_1_export"
    lines = ["---"]
    for sub_id, nb in notebooks.items():
        d = top / f"submission_{sub_id}"
        d.mkdir(parents=True)
        if isinstance(nb, (bytes, str)):
            (d / "hw5.ipynb").write_bytes(nb if isinstance(nb, bytes) else nb.encode())
        else:
            nbformat.write(nb, str(d / "hw5.ipynb"))
        name = names.get(sub_id, f"Student {sub_id}")
        lines += [f"submission_{sub_id}:", "  :submitters:", f"  - :name: {name}",
                  f"    :sid: 'S{sub_id}'", f"    :email: s{sub_id}@example.edu"]
    (top / "submission_metadata.yml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return top
