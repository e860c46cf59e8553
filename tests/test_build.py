"""`hw5 build`: determinism, freshness of the committed outputs, and what the student template may
and must contain."""
from __future__ import annotations

import ast
import re
import zipfile
from pathlib import Path

import nbformat
import pytest

from hw5 import answer_key
from hw5.build import (AUTOGRADER_DIR, RUBRIC_NAME, SOLUTIONS_DIR, STUDENT_DIR, assign,
                       autograder_zip, build_all, fill, master, student)
from hw5.grading import answers
from hw5.kit import spec

ROOT = Path(__file__).resolve().parents[1]
NB = spec.NOTEBOOK_NAME
IGNORED_PARTS = {"__pycache__", ".ipynb_checkpoints"}


def _tree(base: Path) -> dict[str, bytes]:
    """Relative POSIX path -> bytes for every file under ``base`` (caches ignored)."""
    if not base.is_dir():
        return {}
    return {p.relative_to(base).as_posix(): p.read_bytes() for p in sorted(base.rglob("*"))
            if p.is_file() and not (set(p.relative_to(base).parts) & IGNORED_PARTS)}


def _generated(base: Path) -> dict[str, bytes]:
    """The files the build owns under ``base``."""
    files = {f"{STUDENT_DIR}/{k}": v for k, v in _tree(base / STUDENT_DIR).items()}
    for rel in (f"{SOLUTIONS_DIR}/{NB}", f"{SOLUTIONS_DIR}/{RUBRIC_NAME}",
                f"{AUTOGRADER_DIR}/{autograder_zip.ZIP_NAME}", "README.md"):
        if (base / rel).is_file():
            files[rel] = (base / rel).read_bytes()
    return files


def _zip_diff(a: bytes, b: bytes) -> list[str]:
    import io

    with zipfile.ZipFile(io.BytesIO(a)) as za, zipfile.ZipFile(io.BytesIO(b)) as zb:
        ma = {i.filename: (za.read(i), i.external_attr, i.date_time) for i in za.infolist()}
        mb = {i.filename: (zb.read(i), i.external_attr, i.date_time) for i in zb.infolist()}
    return sorted(n for n in set(ma) | set(mb) if ma.get(n) != mb.get(n))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("build")
    build_all(ROOT, out)
    return out


@pytest.fixture(scope="module")
def student_nb(built):
    return nbformat.read(str(built / STUDENT_DIR / NB), as_version=4)


@pytest.fixture(scope="module")
def solution_nb(built):
    return nbformat.read(str(built / SOLUTIONS_DIR / NB), as_version=4)


def _question(cell):
    return (cell.metadata.get(master.CELL_META) or {}).get("question")


def _has_ellipsis(source: str) -> bool:
    return any(isinstance(n, ast.Constant) and n.value is Ellipsis for n in ast.walk(ast.parse(source)))


def _text(nb, cell_type=None) -> str:
    return "\n".join(c.source for c in nb.cells if cell_type in (None, c.cell_type))


# ------------------------------------------------------------------------------------------------
# Determinism and freshness
# ------------------------------------------------------------------------------------------------
def test_build_twice_is_byte_identical(built, tmp_path):
    build_all(ROOT, tmp_path)
    first, second = _generated(built), _generated(tmp_path)
    assert sorted(first) == sorted(second)
    different = [rel for rel in first if first[rel] != second[rel]]
    assert not different, f"two builds differ in {different}"


def test_committed_outputs_are_fresh(built):
    fresh, committed = _generated(built), _generated(ROOT)
    missing = sorted(set(fresh) - set(committed))
    extra = sorted(set(committed) - set(fresh))
    stale = sorted(rel for rel in set(fresh) & set(committed) if fresh[rel] != committed[rel])
    zip_rel = f"{AUTOGRADER_DIR}/{autograder_zip.ZIP_NAME}"
    if zip_rel in stale:
        stale[stale.index(zip_rel)] += f" (members: {_zip_diff(fresh[zip_rel], committed[zip_rel])})"
    assert not (missing or extra or stale), (
        "the committed build outputs are out of date; run `hw5 build` and commit the result.\n"
        f"missing: {missing}\nnot produced by the build: {extra}\nstale: {stale}")


def test_expected_files(built):
    files = _generated(built)
    auto_ids = [q.id for q in spec.QUESTIONS if q.kind == spec.AUTO]
    for qid in auto_ids:
        assert f"{STUDENT_DIR}/tests/{qid}.py" in files
    for rel in (f"{STUDENT_DIR}/{NB}", f"{STUDENT_DIR}/README.md", f"{SOLUTIONS_DIR}/{NB}",
                f"{SOLUTIONS_DIR}/{RUBRIC_NAME}", f"{AUTOGRADER_DIR}/{autograder_zip.ZIP_NAME}"):
        assert rel in files, rel
    kit = {rel for rel in files if rel.startswith(f"{STUDENT_DIR}/{student.KIT_PACKAGE}/")}
    expected_kit = {f"{STUDENT_DIR}/{student.KIT_PACKAGE}/{p.as_posix()}" for p in student.kit_files(ROOT)}
    assert kit == expected_kit
    assert f"{STUDENT_DIR}/{student.KIT_PACKAGE}/mnist.py" in kit
    assert not any(rel.endswith(".npz") for rel in files if rel.startswith(STUDENT_DIR))


def test_master_matches_spec():
    blocks = master.validate(master.read(ROOT / master.MASTER_PATH))
    assert [b.id for b in blocks] == [q.id for q in spec.QUESTIONS]


# ------------------------------------------------------------------------------------------------
# The student template holds no solutions
# ------------------------------------------------------------------------------------------------
def test_template_has_no_solution_code(built, student_nb):
    everything = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted((built / STUDENT_DIR).rglob("*"))
        if p.is_file() and p.suffix in {".ipynb", ".py", ".md"}
        and p.parent.name != student.KIT_PACKAGE)
    nb_text = _text(student_nb)
    problems = []
    if re.search(r"SGD\([^)]*momentum\s*=", everything):
        problems.append("momentum= passed to SGD")
    if re.search(r"Conv2D\(\s*64", everything):
        problems.append("the second Conv2D(64 ...)")
    if re.search(rf"""\b{spec.P1_1_VARIABLE}\s*=\s*["']{answer_key.P1_1_ANSWER}["']""", everything):
        problems.append("the P1.1 answer")
    if re.search(rf'^{spec.STUDENT_ID_VARIABLE}\s*=\s*"[^"]', everything, re.M):
        problems.append("a filled-in student ID")
    if "np.sum(P3_INPUT" in everything:
        problems.append("the P3 solution code")
    for name in spec.TRAINED_VARIABLES:
        if name != "model" and re.search(rf"\b{name}\s*=\s*define_model", everything):
            problems.append(f"the solution line for {name}")
    if "**Model answer.**" in nb_text or "**Common partial-credit cases:**" in nb_text:
        problems.append("a manual question's model answer or rubric")
    if re.search(r"#\s*(BEGIN|END)\s+(SOLUTION|PROMPT)|#\s*SOLUTION\b", nb_text):
        problems.append("otter solution/prompt markers")
    assert not problems, f"student template leaks: {problems}"
    assert not (built / STUDENT_DIR / student.KIT_PACKAGE / "answer_key.py").exists()
    assert "P3_ANSWER" not in everything and "P1_1_HINTS" not in everything


def test_every_todo_maps_to_a_solution_cell(student_nb, solution_nb):
    solutions = {c.id: c for c in solution_nb.cells}
    todos = [c for c in student_nb.cells
             if c.cell_type == "code" and re.match(r"#\s*TODO(\d+)\b", c.source)]
    found = sorted(int(re.match(r"#\s*TODO(\d+)", c.source).group(1)) for c in todos)
    expected = sorted(int(q.id[4:]) for q in spec.QUESTIONS if re.fullmatch(r"todo\d+", q.id))
    assert found == expected
    for cell in todos:
        n = re.match(r"#\s*TODO(\d+)", cell.source).group(1)
        assert _question(cell) == f"todo{n}", cell.source
        sol = solutions.get(cell.id)
        assert sol is not None, f"TODO{n}: no solution cell with id {cell.id}"
        assert _question(sol) == f"todo{n}"
        assert assign.SOLUTION_TAG in sol.metadata.get("tags", [])
        assert sol.source.split("\n")[0] == cell.source.split("\n")[0]
        assert _has_ellipsis(cell.source) and not _has_ellipsis(sol.source)
        assert sol.source != cell.source
    # Builders and trained variables: each name is defined in the solution cell of its question.
    by_question = {}
    for cell in solution_nb.cells:
        by_question.setdefault(_question(cell), []).append(cell.source)
    for name in spec.BUILDERS:
        assert any(re.search(rf"^def {name}\(", "\n".join(v), re.M) for v in by_question.values())
    for tv in spec.TRAINED_VARIABLES.values():
        src = "\n".join("\n".join(v) for v in by_question.values())
        assert re.search(rf"^{tv.model}\s*=", src, re.M) and re.search(rf"^{tv.history}\s*=", src, re.M)


def test_solution_notebook_is_clean(solution_nb):
    text = _text(solution_nb, "code")
    assert not re.search(r"#\s*(BEGIN|END)\s+(SOLUTION|PROMPT)|#\s*SOLUTION\b", text)
    for cell in solution_nb.cells:
        if cell.cell_type == "code":
            assert not _has_ellipsis(cell.source), \
                f"placeholder ... left in solution cell {cell.id}"
            assert cell.outputs == [] and cell.execution_count is None


# ------------------------------------------------------------------------------------------------
# Points and checks agree with the spec
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["student", "solution"])
def test_points_in_notebook_match_spec(which, student_nb, solution_nb):
    nb = student_nb if which == "student" else solution_nb
    md = [c.source for c in nb.cells if c.cell_type == "markdown"]
    for q in spec.QUESTIONS:
        assert sum(master.heading(q) in s for s in md) == 1, master.heading(q)
    # Every "(N points)" heading is a question, a part or a section, with the spec's value.
    allowed = {master.heading(q) for q in spec.QUESTIONS}
    sections = [fill.section_heading(n) for n in sorted({q.section for q in spec.QUESTIONS
                                                         if q.section})]
    headings = [line for s in md for line in s.split("\n")
                if line.startswith("#") and re.search(r"\(\d+(\.\d+)? points?\)", line)]
    parts = [h for h in headings if h not in allowed and h not in sections]
    assert [h for h in headings if h in sections] == sections
    assert all(f"({master.points_text(spec.SECTION_POINTS)})" in h for h in sections)
    assert len(parts) == 2, parts
    written, notebook = parts
    assert f"({master.points_text(spec.PART_POINTS['written'])})" in written and "Part 1" in written
    assert f"({master.points_text(spec.PART_POINTS['notebook'])})" in notebook and "Part 2" in notebook
    intro = md[0]
    assert f"**{spec.TOTAL_POINTS:g}**" in intro
    assert f"{spec.AUTO_POINTS:g} are autograded" in intro and f"{spec.MANUAL_POINTS:g} are graded" in intro
    # Parameter counts quoted in the text are the spec's.
    quoted = set(re.findall(r"\b\d{2,3},\d{3}\b", "\n".join(md)))
    assert quoted <= {f"{n:,}" for n in spec.TOTAL_PARAMS.values()}, quoted
    assert f"{spec.TOTAL_PARAMS['baseline']:,}" in quoted
    # The P1.1 options are the spec's.
    plain = "\n".join(md).replace("`", "")
    for letter, option in spec.P1_1_OPTIONS.items():
        assert f"**{letter}.** {option}" in plain
    # Every placeholder was filled.
    assert not re.search(r"\{\{\s*[\w.]+\s*\}\}", "\n".join(md))


def test_check_cells_and_test_files_match_spec(built, student_nb):
    checks = re.findall(r"""grader\.check\(["'](\w+)["']\)""", _text(student_nb, "code"))
    assert checks == [q.id for q in spec.QUESTIONS if q.kind == spec.AUTO]
    for q in spec.QUESTIONS:
        path = built / STUDENT_DIR / "tests" / f"{q.id}.py"
        if q.kind == spec.MANUAL:
            assert not path.exists()
            continue
        text = path.read_text(encoding="utf-8")
        assert f'name = "{q.id}"' in text
        assert re.search(rf"^points = {q.points:g}$", text, re.M), text
        assert "hidden=False" in text and "hidden=True" not in text
        assert "hw5kit" in text and "public." in text


def test_names_in_notebook_are_the_contracts(student_nb):
    code = _text(student_nb, "code")
    for name in spec.BUILDERS:
        assert re.search(rf"^def {name}\(", code, re.M), name
    for tv in spec.TRAINED_VARIABLES.values():
        assert re.search(rf"^{tv.model}\s*=", code, re.M), tv.model
        assert re.search(rf"^{tv.history}\s*=", code, re.M), tv.history
    assert spec.EPOCHS_ENV_VAR in code or "EPOCHS_ENV_VAR" in code
    assert "TRAIN_SUBSET_ENV_VAR" in code


def test_rubric_covers_manual_questions(built):
    text = (built / SOLUTIONS_DIR / RUBRIC_NAME).read_text(encoding="utf-8")
    for q in spec.QUESTIONS:
        assert q.title in text
        if q.kind == spec.MANUAL:
            title = f"### {q.title} ({master.points_text(q.points)})"
            section = text.split(title, 1)[1].split("\n### ", 1)[0]
            for heading in ("**A full answer mentions:**", "**Model answer:**",
                            "**Common partial-credit cases:**"):
                assert heading in section, (q.id, heading)


# Autograder zip: tests/test_autograder_zip.py


def test_rubric_pdf_is_skipped_with_a_reason_without_pandoc(tmp_path, monkeypatch, capsys):
    from hw5.build import rubric_pdf

    monkeypatch.setattr(rubric_pdf.shutil, "which", lambda name: None)
    assert rubric_pdf.build(ROOT / "solutions" / "rubric.md", tmp_path) is None
    out = capsys.readouterr().out
    assert "skipped rubric.pdf: pandoc and a TeX engine" in out and "apt-get install" in out
    assert not (tmp_path / rubric_pdf.PDF_NAME).exists()


def test_rubric_pdf_when_pandoc_and_tex_are_installed(tmp_path):
    from hw5.build import rubric_pdf

    if None in rubric_pdf.find_tools():
        pytest.skip("pandoc or a TeX engine is not installed here")
    pdf = rubric_pdf.build(ROOT / "solutions" / "rubric.md", tmp_path)
    assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000


# ------------------------------------------------------------------------------------------------
# Student experience: one statement of versions, the Colab path, the course's policies, the ID
# ------------------------------------------------------------------------------------------------
def test_python_versions_are_stated_once_from_the_spec(built, student_nb):
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    low, high = spec.PYTHON_VERSIONS
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    major, minor = high.split(".")
    assert project["requires-python"] == f">={low},<{major}.{int(minor) + 1}"
    readme = (built / STUDENT_DIR / "README.md").read_text(encoding="utf-8")
    for text in (readme, _text(student_nb, "markdown")):
        assert spec.PYTHON_VERSIONS_TEXT in text
        assert not re.search(r"Python 3\.\d+ (to|or|-|–) 3\.\d+", text.replace(
            spec.PYTHON_VERSIONS_TEXT, "")), "another statement of the supported versions"


def test_colab_cell_unpacks_the_handout_the_readme_names(built, student_nb):
    readme = (built / STUDENT_DIR / "README.md").read_text(encoding="utf-8")
    colab = next(c.source for c in student_nb.cells
                 if c.cell_type == "code" and "google.colab" in c.source)
    zip_path = f"{student.COLAB_ROOT}/{student.HANDOUT_ZIP}"
    folder = f"{student.COLAB_ROOT}/{student.HANDOUT_FOLDER}"
    assert zip_path in colab and f'os.chdir("{folder}")' in colab
    assert f"extractall(\"{student.COLAB_ROOT}\")" in colab
    for step in (student.HANDOUT_ZIP, "Upload notebook", f"%cd {folder}", "Download .ipynb"):
        assert step in readme, step
    # The zip really unpacks to that folder with the notebook and the kit inside.
    from hw5.build import student_zip

    assert student_zip.TOP == student.HANDOUT_FOLDER and student_zip.ZIP_NAME == student.HANDOUT_ZIP


def test_course_policies_are_filled_from_one_setting(student_nb):
    settings = fill.course_settings(ROOT / master.MASTER_PATH.parent)
    md = _text(student_nb, "markdown")
    for value in settings.values():
        assert md.count(value) == 1, value


def test_student_id_cell_is_blank_in_the_template_and_set_in_the_solution(student_nb, solution_nb):
    pattern = rf'^{spec.STUDENT_ID_VARIABLE}\s*=\s*"([^"]*)"'
    first = {}
    for which, nb in (("student", student_nb), ("solution", solution_nb)):
        code = [c.source for c in nb.cells if c.cell_type == "code"]
        index = next(i for i, src in enumerate(code) if re.search(pattern, src, re.M))
        first[which] = (index, re.search(pattern, code[index], re.M).group(1))
        # Before Part 1: everything after it can use the ID.
        assert not any("p3_numbers" in src or "show_numbers" in src for src in code[:index])
    assert first["student"][1] == "" and first["solution"][1]
    assert first["student"][0] == first["solution"][0]


def test_unknown_placeholders_and_bad_course_settings_are_refused(tmp_path):
    table = fill.values(ROOT / master.MASTER_PATH.parent)
    assert fill.fill_text("after {{ epochs }} epochs", table) == f"after {spec.EPOCHS} epochs"
    with pytest.raises(fill.FillError, match="no_such_value"):
        fill.fill_text("{{no_such_value}}", table)
    (tmp_path / fill.COURSE_FILE).write_text("due: tomorrow\n", encoding="utf-8")
    with pytest.raises(fill.FillError, match="late_policy"):
        fill.course_settings(tmp_path)


def test_master_needs_one_tagged_student_id_cell():
    nb = master.read(ROOT / master.MASTER_PATH)
    cell = next(c for c in nb.cells if c.cell_type == "code"
                and re.search(rf"^{spec.STUDENT_ID_VARIABLE}\s*=", c.source, re.M))
    cell.metadata["tags"] = []
    with pytest.raises(master.MasterError, match="tag"):
        master.validate(nb)
    cell.source = "pass"
    with pytest.raises(master.MasterError, match=spec.STUDENT_ID_VARIABLE):
        master.validate(nb)


def test_kit_copies_say_they_are_generated():
    kit = ROOT / STUDENT_DIR / student.KIT_PACKAGE
    copies = sorted(kit.glob("*.py"))
    assert copies
    for path in copies:
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith(f"# Generated by `hw5 build` from hw5/kit/{path.name}: do not edit"), path
