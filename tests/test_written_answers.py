"""Written answers (markdown answer cells, graded by hand) in the batch grader, without running anything.

A written answer is left for the formgrader when the student wrote one, and is worth 0 at
once when the cell is as the lab gave it; neither is judged by a declaration.
"""

import json

import nbformat

from autograder.batch.assemble import assemble
from autograder.batch.corpus import honest, solution_sources, with_answers
from autograder.batch.feedback import render
from autograder.batch.pipeline import graded_cells, written_answer_cells, written_answer_checks
from autograder.build import declared_ids
from solution_text import REPO

LAB = "02-fashion-mnist-cnn"


def _release():
    (path,) = (REPO / "labs" / LAB).glob("*.ipynb")
    return nbformat.read(path, as_version=4)


def test_the_lab_has_one_written_answer_and_no_declaration_for_it():
    release = _release()
    assert list(written_answer_cells(release)) == ["why_these_classes"]
    assert ("why_these_classes", 2.0) in graded_cells(release)
    assert "why_these_classes" not in declared_ids(REPO / "solutions" / LAB)


def test_a_written_answer_awaits_grading_and_an_unwritten_one_earns_zero():
    release = _release()
    written = assemble(json.dumps(honest(LAB)).encode(), release).notebook
    (check,) = written_answer_checks(written, release).values()
    assert check["pending"] and check["points"] == 0 and check["max_points"] == 2
    assert check["answer"] == solution_sources(LAB)["why_these_classes"]
    code_only = {grade_id: source for grade_id, source in solution_sources(LAB).items() if grade_id != "why_these_classes"}
    unwritten = assemble(json.dumps(with_answers(LAB, code_only)).encode(), release).notebook
    (check,) = written_answer_checks(unwritten, release).values()
    assert not check["pending"] and check["points"] == 0 and "no answer was written" in check["message"]


def test_the_feedback_page_shows_the_answer_escaped_and_says_its_points_are_not_counted_yet():
    check = {"id": "why_these_classes", "title": "a written answer, graded by hand", "points": 0.0,
             "max_points": 2.0, "pending": True, "answer": "4 and 9 <script>alert(1)</script>",
             "message": "written: awaits grading by hand"}
    page = render({"lab": LAB, "student": "ada", "status": "ok", "reasons": [], "checks": [check],
                   "score": 0.0, "max_score": 2.0, "pending_points": 2.0})
    assert "? / 2" in page and "&lt;script&gt;" in page and "<script>" not in page
    assert "2 of these points are for written answers that your instructor grades by hand" in page
