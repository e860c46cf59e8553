"""`hw5 export-written --pdf`: real PDFs from an export-shaped folder (the solution with saved
plots, the empty template, a 1 MB answer, a hostile notebook, a huge one), read back with pypdf."""
from __future__ import annotations

import base64
import csv
import http.server
import io
import re
import threading
import time

import nbformat
import pytest

from hw5.cli import main
from hw5.ta import export_written as ew
from hw5.ta.written import layout
from hw5.ta.written.compose import NO_ANSWER, NO_PLOT
from hw5.ta.written.export import export_pdfs
from hw5.ta.written.markdown import AnswerRenderer
from written_helpers import curve_png, image_output, set_answer, with_plots, write_export

pypdf = pytest.importorskip("pypdf")

SOLUTION, TEMPLATE, LONG, HOSTILE, HUGE = "101", "102", "103", "104", "105"
SPANS = {s.question.id: s for s in layout.spans()}
FIGURES = {"q1": 1, "q2": 1, "q3": 2, "q4": 1}  # plotting calls above each question
SECRET = "hw5-secret-token-7f3a9"
LONG_HEAD = "Longanswer opening sentence about the curves."
LONG_TAIL = "LONGTAILMARKER"


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    requests: list = []

    def do_GET(self):  # noqa: N802 - http.server's name
        self.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server():
    """A loopback HTTP server that records every request (it should see none)."""
    RecordingHandler.requests = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    httpd.timeout = 1
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", RecordingHandler.requests
    httpd.shutdown()
    httpd.server_close()


def hostile_markdown(base: str, secret_file) -> str:
    url = secret_file.as_uri()
    return "\n\n".join([
        f"![secret]({url}) and ![remote]({base}/md-image.png) and [a link]({base}/link)",
        f'<img src="{base}/img-tag.png"> <link rel="stylesheet" href="{base}/style.css">',
        f'<iframe src="{url}"></iframe> <object data="{base}/object"></object>',
        f'<style>@import url("{base}/import.css"); body {{ background: url("{url}") }}</style>',
        f'<div style="background-image: url({base}/inline-style.png)">styled</div>',
        f"<script>fetch('{base}/script')</script>",
        f"![svg](data:image/svg+xml;base64,"
        + base64.b64encode(f'<svg xmlns="http://www.w3.org/2000/svg"><image href="{base}/svg"/>'
                           "</svg>".encode()).decode() + ")",
        r"Broken math $\frac{1}{$ and unknown $\notacommand{x}$ stay as source.",
        f"[file link]({url}) and <{url}>",
    ])


def huge_notebook(repo) -> nbformat.NotebookNode:
    """The solution with a 50-megapixel plot above Q1 and 3,000 extra cells."""
    from PIL import Image

    nb = repo.solution()
    with_plots(nb)
    buf = io.BytesIO()
    Image.new("RGB", (7100, 7100), (200, 220, 255)).save(buf, "PNG", compress_level=1)
    i = next(i for i, c in enumerate(nb.cells) if c.source.startswith("plot_training("))
    nb.cells[i].outputs = [image_output(buf.getvalue())]
    filler = [nbformat.v4.new_code_cell(f"x = {n}") for n in range(3000)]
    nb.cells[i:i] = filler
    return nb


@pytest.fixture(scope="module")
def exported(tmp_path_factory, repo, server):
    base, _requests = server
    tmp = tmp_path_factory.mktemp("written-pdf")
    secret_file = tmp / "secret.txt"
    secret_file.write_text(SECRET)
    solution = repo.solution()
    with_plots(solution)
    long = repo.solution()
    with_plots(long)
    set_answer(long, "q1", LONG_HEAD + "\n\n" + ("All work and no play. " * 50 + "\n\n") * 1000
               + LONG_TAIL)
    hostile = repo.template()
    set_answer(hostile, "p1_2", hostile_markdown(base, secret_file))
    notebooks = {SOLUTION: solution, TEMPLATE: repo.template(), LONG: long, HOSTILE: hostile}
    export = write_export(tmp / "export", notebooks, {SOLUTION: "Zoë Ångström"})
    out = tmp / "out"
    start = time.process_time()
    assert main(["export-written", str(export), "-o", str(out), "--pdf"]) == 0
    return out, time.process_time() - start


def read_pdf(path):
    return pypdf.PdfReader(str(path))


def page_texts(path) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in read_pdf(path).pages]


def span_text(texts, qid) -> str:
    s = SPANS[qid]
    return " ".join(texts[s.first_page - 1:s.last_page])


def rows(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_pdf_has_the_outlines_pages(exported):
    out, _ = exported
    outline = len(read_pdf(out / "outline.pdf").pages)
    assert outline == layout.fixed_pages()
    for sub in (SOLUTION, TEMPLATE, HOSTILE):
        assert len(read_pdf(out / "pdf" / f"{sub}.pdf").pages) == outline, sub
    overflow = rows(out / "overflow.csv")
    assert [(r["submission"], r["question"]) for r in overflow] == [
        (LONG, SPANS["q1"].question.title)]
    first, last = map(int, overflow[0]["pages"].split("-"))
    assert first == outline + 1 and len(read_pdf(out / "pdf" / f"{LONG}.pdf").pages) == last


def test_each_answer_is_on_its_own_pages(exported, repo):
    out, _ = exported
    texts = page_texts(out / "pdf" / f"{SOLUTION}.pdf")
    assert "Zoë Ångström" in texts[0] and f"S{SOLUTION}" in texts[0] and SOLUTION in texts[0]
    answers = ew.find_answers(ew.load_cells(repo.solution_path), ew.template_layout())
    for qid, span in SPANS.items():
        words = plain_words(answers[qid].split("**Model answer.**")[-1])
        assert words in span_text(texts, qid), (qid, words)
        assert span.question.title in texts[span.first_page - 1]
        others = [t for i, t in enumerate(texts, 1) if not span.first_page <= i <= span.last_page]
        assert not any(words in t for t in others), qid


def plain_words(markdown: str, n: int = 5) -> str:
    """The first `n` consecutive words of `markdown` that are plain text (no math or markup)."""
    run: list = []
    for word in re.sub(r"\$[^$]*\$", " $ ", markdown).split():
        run = run + [word] if re.fullmatch(r"[A-Za-z][A-Za-z,.;:'-]*", word) else []
        if len(run) == n:
            return " ".join(run)
    raise AssertionError(f"no {n} plain words in {markdown[:80]!r}")


def drawn_images(page) -> list[tuple[int, int]]:
    """(width, height) of each image the page's content stream draws (WeasyPrint shares one
    resource dictionary between pages, so `page.images` would list every page's images)."""
    xobjects = page["/Resources"]["/XObject"].get_object()
    sizes = []
    for operands, operator in page.get_contents().operations:
        if operator == b"Do":
            xobj = xobjects[operands[0]].get_object()
            if xobj.get("/Subtype") == "/Image":
                sizes.append((int(xobj["/Width"]), int(xobj["/Height"])))
    return sizes


def _figures_on(reader, span) -> int:
    # formulas are images too, but none is 200 pixels tall
    return sum(1 for page in reader.pages[span.first_page - 1:span.last_page]
               for _w, h in drawn_images(page) if h >= 200)


def test_the_plots_are_embedded_above_their_question(exported):
    out, _ = exported
    reader = read_pdf(out / "pdf" / f"{SOLUTION}.pdf")
    assert {qid: _figures_on(reader, SPANS[qid]) for qid in FIGURES} == FIGURES
    texts = page_texts(out / "pdf" / f"{SOLUTION}.pdf")
    assert NO_PLOT not in " ".join(texts)


def test_formulas_are_typeset_not_dropped(exported):
    out, _ = exported
    reader = read_pdf(out / "pdf" / f"{SOLUTION}.pdf")
    page = reader.pages[SPANS["p1_2"].first_page - 1]
    formulas = [size for size in drawn_images(page) if size[1] < 200]
    assert len(formulas) >= 4  # ReLU, softmax, z, K, ... as images
    assert "$" not in " ".join(page.extract_text().split())  # none left as TeX source


def test_the_template_says_no_answer_and_no_plot(exported):
    out, _ = exported
    texts = page_texts(out / "pdf" / f"{TEMPLATE}.pdf")
    for qid, span in SPANS.items():
        assert NO_ANSWER in span_text(texts, qid)
        assert (NO_PLOT in span_text(texts, qid)) == span.with_figures


def test_a_long_answer_is_cut_continued_and_listed(exported):
    out, _ = exported
    texts = page_texts(out / "pdf" / f"{LONG}.pdf")
    assert LONG_HEAD in span_text(texts, "q1")
    assert f"continued on page {layout.fixed_pages() + 1}" in span_text(texts, "q1")
    assert LONG_TAIL not in " ".join(texts)  # beyond MAX_ANSWER_CHARS: cut, and said so
    cuts = [r for r in rows(out / "cuts.csv") if r["submission"] == LONG]
    assert any("answer cut at 20,000" in r["what"] for r in cuts)
    assert "answer cut at" in texts[0]  # the cover lists it too


def test_hostile_markdown_fetches_nothing_and_reads_no_file(exported, server):
    out, _ = exported
    _, requests = server
    assert requests == []
    data = (out / "pdf" / f"{HOSTILE}.pdf").read_bytes()
    assert SECRET.encode() not in data
    text = span_text(page_texts(out / "pdf" / f"{HOSTILE}.pdf"), "p1_2")
    assert SECRET not in text
    assert "<iframe" in text and "<script>" in text  # raw HTML is shown as text
    assert r"$\frac{1}{$" in text and r"$\notacommand{x}$" in text  # math shown as source
    assert "not shown" in text
    assert not any("/URI" in str(p.get("/Annots", "")) for p in read_pdf(
        out / "pdf" / f"{HOSTILE}.pdf").pages)


def test_four_pdfs_take_seconds(exported):
    _, cpu = exported
    assert cpu < 60, f"{cpu:.0f} CPU-s for four PDFs and the outline"


@pytest.mark.slow
def test_a_huge_notebook_is_bounded(tmp_path, repo):
    """A 50-megapixel plot and 3,000 more cells: a PDF of the usual pages, the plot scaled down
    (and listed), in bounded time and size."""
    export = write_export(tmp_path / "export", {HUGE: huge_notebook(repo)})
    start = time.process_time()
    results = export_pdfs(export, tmp_path / "out")
    cpu = time.process_time() - start
    path = tmp_path / "out" / "pdf" / f"{HUGE}.pdf"
    assert results[0].pages == layout.fixed_pages() == len(read_pdf(path).pages)
    assert path.stat().st_size < 3 * 2**20
    assert _figures_on(read_pdf(path), SPANS["q1"]) == 1
    cuts = [r["what"] for r in rows(tmp_path / "out" / "cuts.csv")]
    assert any("7100×7100 pixels scaled down" in c for c in cuts)
    assert cpu < 60, f"{cpu:.0f} CPU-s"


@pytest.mark.slow
def test_two_processes_write_the_same_pdfs(tmp_path, repo):
    n = 4
    export = write_export(tmp_path / "export", {str(i): repo.template() for i in range(n)})
    results = export_pdfs(export, tmp_path / "out", jobs=2, per_worker=2)
    assert [r.submission for r in results] == [str(i) for i in range(n)]
    for i in range(n):
        texts = page_texts(tmp_path / "out" / "pdf" / f"{i}.pdf")
        assert len(texts) == layout.fixed_pages() and f"Student {i}" in texts[0]


# ---------------------------------------------------------------------------------------------
# The Markdown renderer on its own
# ---------------------------------------------------------------------------------------------
def test_markdown_has_no_raw_html_no_links_and_no_foreign_images():
    html = AnswerRenderer().render(
        '<img src="http://x/a.png"> [t](http://x/l) ![i](http://x/i.png) ![f](file:///etc/passwd)'
        "\n\n| a | b |\n|---|---|\n| $x^2$ | `code` |\n\n```\n<b>kept as code</b>\n```")
    assert "<img src=\"http" not in html and "href" not in html
    assert "&lt;img" in html and "⟨http://x/l⟩" in html and "<table>" in html
    assert 'class="math inline"' in html and "&lt;b&gt;kept as code&lt;/b&gt;" in html
    assert all(src.startswith("data:") for src in _srcs(html))


def test_attachments_and_data_images_are_the_only_images(tmp_path):
    png = curve_png("attached")
    uri = "data:image/png;base64," + base64.b64encode(png).decode()
    r = AnswerRenderer({"plot.png": base64.b64encode(png).decode()})
    html = r.render("![a](attachment:plot.png) ![b](attachment:missing.png) "
                    f"![c]({uri}) ![d](data:image/svg+xml;base64,AAAA)")
    assert len([s for s in _srcs(html) if s.startswith("data:image/png")]) == 2
    assert "missing.png" in html and r.cuts == ["attachment 'missing.png' not shown: not in the "
                                                "notebook"]
    assert "![d](data:image/svg+xml" in html  # not an image markdown-it accepts: left as text


def _srcs(html: str) -> list[str]:
    return re.findall(r'src="([^"]*)"', html)
