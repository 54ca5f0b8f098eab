"""Every lab, through both graders: plain `nbgrader autograde` and `python -m autograder.batch`.

Per lab (offline data, smoke budget), from the released notebook:
- the reference answers (the release with its answer cells filled) get full marks in both,
  and status ok in the batch;
- the untouched release gets zero in both (status unanswered in the batch);
- a submission with two typical mistakes (``tests/answers/<lab>.py``: WRONG) loses the
  same cells in both graders, and exactly the cells named in LOSES;
- a submission that monkeypatches the lab's metric or checks inside the notebook (TAMPER)
  gains nothing in the batch: it loses exactly TAMPER_LOSES.
On lab 02 also: a second copy of the reference scores the same to the printed score
(determinism), a student who rewrites the test cells still scores zero under plain
nbgrader, and the graded notebook says which data and budget it used.
"""

import json
import os
import re
import runpy
import subprocess
import sys

import pytest

from autograder.batch.corpus import honest, released_name, with_answers
from autograder.batch.sandbox import isolation_available
from autograder.grade import autograde, nbgrader, prepare_course, read_grades
from autograder.labs import all_labs
from solution_text import REPO

EXTENDED_LAB = "02-fashion-mnist-cnn"


def answers(lab: str) -> dict:
    return runpy.run_path(str(REPO / "tests" / "answers" / f"{lab}.py"))


def changed(lab: str, transforms: dict) -> dict:
    """The reference submission with some answer cells transformed."""
    from autograder.batch.corpus import solution_sources

    sources = solution_sources(lab)
    return honest(lab, **{cell: transform(sources[cell]) for cell, transform in transforms.items()})


def _place(course, student, lab, notebook: dict):
    folder = course / "submitted" / student / lab
    folder.mkdir(parents=True, exist_ok=True)
    (folder / released_name(lab)).write_text(json.dumps(notebook))


def _rewritten_tests(lab):
    notebook = with_answers(lab, {})
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            cell["source"] = "pass\n"
    return notebook


def _lost(cells: dict, pending=()) -> set:
    """The cells that earned nothing, leaving out written answers that await grading by hand."""
    return {name for name, score in cells.items() if not score and name not in pending}


def _batch_pending(result) -> set:
    return {check["id"] for check in result["checks"] if check.get("pending")}


def grade_both_ways(lab: str, tmp_path_factory):
    """Grade the lab's submissions with plain nbgrader and (in parallel) with the batch grader."""
    cases = answers(lab)
    submissions = {"reference": honest(lab), "blank": with_answers(lab, {}), "wrong": changed(lab, cases["WRONG"])}
    plain_course = tmp_path_factory.mktemp(f"plain-{lab}")
    prepare_course(plain_course)
    for student, notebook in submissions.items():
        _place(plain_course, student, lab, notebook)
    if lab == EXTENDED_LAB:
        _place(plain_course, "reference-again", lab, honest(lab))
        _place(plain_course, "rewritten-tests", lab, _rewritten_tests(lab))
    batch_course = tmp_path_factory.mktemp(f"batch-{lab}")
    for student, notebook in {**submissions, "tamper": changed(lab, cases["TAMPER"])}.items():
        _place(batch_course, student, lab, notebook)
    environment = dict(os.environ, PYTHONPATH=str(REPO), COURSE_DATA="offline", COURSE_BUDGET="smoke")
    batch = subprocess.Popen([sys.executable, "-m", "autograder.batch", lab, "--course", str(batch_course),
                              "--workers", "1", "--wall", "600", "--cell-timeout", "300"],
                             env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) \
        if isolation_available() else None
    autograde(plain_course, lab)
    plain = {row["student"]: row for row in read_grades(plain_course, lab)}
    statuses = None
    if batch is not None:
        output, _ = batch.communicate(timeout=1500)
        assert batch.returncode == 0, output[-3000:]
        statuses = {student: json.loads((batch_course / "autograded" / student / lab / "batch-status.json").read_text())
                    for student in [*submissions, "tamper"]}
    return lab, cases, plain_course, plain, statuses, batch_course


def _batch(graded):
    if graded[4] is None:
        pytest.skip("the batch grader's sandbox needs Linux namespaces as root")
    return graded[4]


def _batch_cells(result) -> dict:
    return {check["id"]: check["points"] for check in result["checks"]}


def _printed_scores(course, student, lab):
    (notebook,) = (course / "autograded" / student / lab).glob("*.ipynb")
    return re.findall(r"(?:accuracy|macro_f1) = [0-9.]+ on", notebook.read_text())


class GradersAgree:
    """The checks on one lab; a ``TestLabNN`` subclass per lab below sets LAB. One class per lab
    (not one parametrized module fixture) so that ``--dist loadscope`` spreads the labs over the
    workers: each class's fixture grades its lab once, on whichever worker runs the class."""

    LAB = ""

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls, tmp_path_factory):
        return grade_both_ways(cls.LAB, tmp_path_factory)

    def test_reference_gets_full_marks_from_plain_nbgrader(self, graded):
        lab, _, _, plain, _, _ = graded
        row = plain["reference"]
        assert row["max_score"] > 0 and row["score"] + row["pending_points"] == row["max_score"], \
            f"{lab}: lost {sorted(_lost(row['cells'], row['pending']))}"

    def test_reference_gets_full_marks_from_the_batch(self, graded):
        lab, _, _, plain, _, _ = graded
        result = _batch(graded)["reference"]
        lost = [(c["id"], c["message"]) for c in result["checks"] if not c["points"]]
        lost = [(c["id"], c["message"]) for c in result["checks"] if not c["points"] and not c.get("pending")]
        assert result["status"] == "ok" and result["score"] + result["pending_points"] == plain["reference"]["max_score"], \
            f"{lab}: {lost} {result['reasons']}"
        assert _batch_pending(result) == set(plain["reference"]["pending"]), "both graders leave the same answers by hand"

    def test_untouched_lab_gets_zero_from_both(self, graded):
        _, _, _, plain, _, _ = graded
        assert plain["blank"]["score"] == 0 and len(plain["blank"]["cells"]) == len(plain["reference"]["cells"])
        assert plain["blank"]["pending"] == [], "an unwritten answer is worth 0, not a grader's time"
        blank = _batch(graded)["blank"]
        assert blank["score"] == 0 and blank["status"] == "unanswered" and blank["pending_points"] == 0

    def test_typical_mistakes_lose_the_same_cells_in_both(self, graded):
        lab, cases, _, plain, _, _ = graded
        assert _lost(plain["wrong"]["cells"], plain["wrong"]["pending"]) == cases["LOSES"], lab
        result = _batch(graded)["wrong"]
        assert _batch_cells(result) == {name: score or 0.0 for name, score in plain["wrong"]["cells"].items()}, \
            [(c["id"], c["message"]) for c in result["checks"]]
        assert _batch_pending(result) == set(plain["wrong"]["pending"])

    def test_tampering_in_the_notebook_gains_nothing_in_the_batch(self, graded):
        lab, cases, _, _, _, _ = graded
        result = _batch(graded)["tamper"]
        assert _lost(_batch_cells(result), _batch_pending(result)) == cases["TAMPER_LOSES"], \
            [(c["id"], c["message"]) for c in result["checks"]]

    def test_the_graded_notebook_says_which_data_it_used(self, graded):
        lab, _, course, _, _, _ = graded
        (notebook,) = (course / "autograded" / "reference" / lab).glob("*.ipynb")
        text = notebook.read_text()
        assert "data=offline" in text and "budget=smoke" in text and "OFFLINE" in text



class ExtendedChecks:
    """What is checked on EXTENDED_LAB only: feedback pages, determinism, restored test cells."""

    def test_batch_graded_work_opens_in_nbgrader(self, graded):
        """The batch writes what `nbgrader autograde` writes: the run notebook (without the
        grader's probe) and per-cell grades, so `nbgrader generate_feedback` works on it."""
        lab, _, _, _, _, batch_course = graded
        _batch(graded)
        (notebook,) = (batch_course / "autograded" / "wrong" / lab).glob("*.ipynb")
        text = notebook.read_text()
        assert "grader's probe" not in text and "OK model: 8 layers as specified" in text
        result = nbgrader(batch_course, "generate_feedback", lab, "--student", "wrong", "--force")
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        (page,) = [path for path in (batch_course / "feedback" / "wrong" / lab).glob("*.html") if path.name != "feedback.html"]
        assert "Score: 14.0 / 19.0" in page.read_text()  # 2 of the 5 lost are the written answer, not yet graded

    def test_grading_is_deterministic(self, graded):
        lab, _, course, plain, _, _ = graded
        assert plain["reference-again"]["cells"] == plain["reference"]["cells"]
        first = _printed_scores(course, "reference", lab)
        assert first and first == _printed_scores(course, "reference-again", lab)

    def test_rewritten_test_cells_are_restored(self, graded):
        lab, _, course, plain, _, _ = graded
        assert plain["rewritten-tests"]["score"] == 0
        (notebook,) = (course / "autograded" / "rewritten-tests" / lab).glob("*.ipynb")
        assert f'check({lab!r}, "describe"'.replace('"', "'") in notebook.read_text()


for _lab in all_labs():
    _name = "TestLab" + _lab.split("-")[0]
    _bases = (GradersAgree, ExtendedChecks) if _lab == EXTENDED_LAB else (GradersAgree,)
    globals()[_name] = type(_name, _bases, {"LAB": _lab, "__doc__": f"{_lab} through both graders."})

