"""Autograde labs with nbgrader and export the grades, with the data and budget used.

    python -m autograder.grade --reference                 # run + grade every reference solution
    python -m autograder.grade 02-fashion-mnist-cnn        # grade submitted/*/02-fashion-mnist-cnn/
    python -m autograder.grade 01-keras-basics --course /path/to/course --csv grades.csv

Submissions follow nbgrader's layout, ``<course>/submitted/<student>/<lab>/<notebook>.ipynb``
(``nbgrader zip_collect`` produces it from an LMS export). The hidden tests come back
from ``solutions/`` through nbgrader's own gradebook; students' edits to test cells are
overwritten before anything runs. Grades go to ``<course>/gradebook.db`` and to a CSV
that also records ``COURSE_DATA`` and ``COURSE_BUDGET``, so a grade always says which
data it was earned on. Written answers (markdown answer cells) are left for grading by hand
in the formgrader: the CSV's last column counts their points, and a reference solution is
complete when it loses nothing else.
"""

import argparse
import csv
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from coursekit.lab import budget_from_env, data_mode_from_env

REPO = Path(__file__).resolve().parent.parent
REFERENCE_STUDENT = "reference"


def all_labs(root: Path = REPO) -> list:
    return sorted(path.name for path in (root / "solutions").iterdir() if path.is_dir())


def grading_environment() -> dict:
    """The environment the notebooks run in: repo importable, plots off-screen."""
    environment = dict(os.environ)
    # nbgrader runs `alembic` (its database migrations) as a command: put this
    # interpreter's scripts folder first on PATH even when the venv is not activated.
    scripts = os.path.dirname(sys.executable)
    environment["PATH"] = os.pathsep.join([scripts, environment.get("PATH", "")])
    paths = [str(REPO)] + [p for p in environment.get("PYTHONPATH", "").split(os.pathsep) if p]
    environment["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    environment["MPLBACKEND"] = "Agg"
    # nbgrader scores any test cell that writes to stderr as failed, so keep TensorFlow's
    # C++ log lines and Python warnings out of the graded cells.
    environment["TF_CPP_MIN_LOG_LEVEL"] = "3"
    environment["PYTHONWARNINGS"] = "ignore"
    return environment


def prepare_course(course: Path) -> None:
    """Make ``course`` an nbgrader course folder whose sources are this repo's solutions."""
    course.mkdir(parents=True, exist_ok=True)
    if course.resolve() == REPO:
        return
    shutil.copy(REPO / "nbgrader_config.py", course / "nbgrader_config.py")
    target = course / "solutions"
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(REPO / "solutions", target, ignore=shutil.ignore_patterns("*.py", "__pycache__", "thresholds.json"))


def submit(course: Path, student: str, lab: str, notebook: Path) -> Path:
    """Place one notebook as ``student``'s submission of ``lab``."""
    folder = course / "submitted" / student / lab
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / notebook.name
    shutil.copy(notebook, target)
    return target


def nbgrader(course: Path, *arguments: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "nbgrader", *arguments]
    return subprocess.run(command, cwd=course, env=grading_environment(), capture_output=True, text=True)


def autograde(course: Path, lab: str, force: bool = True) -> None:
    """Register ``lab`` in the gradebook (from its source) and autograde every submission."""
    for arguments in (("generate_assignment", lab, "--force"),
                      ("autograde", lab, *(["--force"] if force else []))):
        result = nbgrader(course, *arguments)
        if result.returncode != 0:
            raise RuntimeError(f"`nbgrader {' '.join(arguments)}` failed in {course}:\n"
                               f"{result.stdout[-4000:]}{result.stderr[-4000:]}")


def read_grades(course: Path, lab: str) -> list:
    """One dict per submission of ``lab``: student, score, max_score and per-cell scores."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        assignment = gradebook.find_assignment(lab)
        for submission in assignment.submissions:
            cells, pending = {}, {}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[grade.name] = grade.score
                    if grade.needs_manual_grade:  # a written answer nobody has graded yet
                        pending[grade.name] = grade.max_score
            rows.append({"student": submission.student.id, "lab": lab, "score": submission.score,
                         "max_score": submission.max_score, "cells": cells, "pending": sorted(pending),
                         "pending_points": sum(pending.values())})
    return sorted(rows, key=lambda row: row["student"])


def write_csv(rows: list, path: Path) -> None:
    data_mode, budget = data_mode_from_env(), budget_from_env().name
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".csv.tmp")
    with temporary.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["lab", "student", "score", "max_score", "data", "budget", "points_to_grade_by_hand"])
        for row in rows:
            writer.writerow([row["lab"], row["student"], row["score"], row["max_score"], data_mode, budget,
                             row.get("pending_points", 0)])
    temporary.replace(path)


def settle_thresholds(lab: str, calibrate_missing: bool) -> None:
    """Calibrate the lab's provisional thresholds for this data and budget, or warn about them."""
    from autograder import calibrate, thresholds

    data_mode, budget = data_mode_from_env(), budget_from_env().name
    if calibrate_missing:
        calibrate.calibrate_missing(lab, data_mode, budget)
    warning = thresholds.provisional_warning(lab, data_mode, budget)
    if warning:
        print(warning, file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.grade", description=__doc__,
        epilog="Environment: COURSE_DATA=keras|offline chooses the data, COURSE_BUDGET=full|smoke "
               "the budget; both are recorded in the CSV.",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("labs", nargs="*", help="labs to grade (default: all labs in solutions/)")
    parser.add_argument("--reference", action="store_true",
                        help=f"submit each reference solution as student '{REFERENCE_STUDENT}' and grade "
                             "it, in a separate course folder (default build/reference-run)")
    parser.add_argument("--course", type=Path, help="nbgrader course folder (default: this repo, "
                        "or build/reference-run with --reference)")
    parser.add_argument("--submissions", type=Path,
                        help="a folder of submissions laid out <student>/<lab>/<notebook>.ipynb "
                             "(as nbgrader's submitted/); copied into the course before grading")
    parser.add_argument("--csv", type=Path, help="where to write the grades (default <course>/grades.csv)")
    parser.add_argument("--calibrate-missing", action="store_true",
                        help="before grading, calibrate every threshold that is provisional or missing for "
                             "this data and budget (5 seeds of the reference; stored in the lab's table)")
    args = parser.parse_args(argv)

    labs = args.labs or all_labs()
    unknown = sorted(set(labs) - set(all_labs()))
    if unknown:
        parser.error(f"unknown lab(s) {unknown}; known: {all_labs()}")
    course = (args.course or (REPO / "build" / "reference-run" if args.reference else REPO)).resolve()
    prepare_course(course)
    print(f"data={data_mode_from_env()} budget={budget_from_env().name} course={course}")
    rows = []
    if args.submissions:
        if not args.submissions.is_dir():
            parser.error(f"--submissions {args.submissions}: no such folder")
        for notebook in sorted(args.submissions.glob("*/*/*.ipynb")):
            student, lab = notebook.parent.parent.name, notebook.parent.name
            if lab in labs:
                submit(course, student, lab, notebook)
    for lab in labs:
        settle_thresholds(lab, args.calibrate_missing)
        if args.reference:
            for notebook in sorted((REPO / "solutions" / lab).glob("*.ipynb")):
                submit(course, REFERENCE_STUDENT, lab, notebook)
        started = time.perf_counter()
        autograde(course, lab)
        lab_rows = read_grades(course, lab)
        for row in lab_rows:
            by_hand = f"  ({row['pending_points']:g} to grade by hand: {', '.join(row['pending'])})" \
                if row["pending"] else ""
            print(f"{lab:<24} {row['student']:<16} {row['score']:>6.1f} / {row['max_score']:<6.1f}{by_hand}")
        print(f"{lab}: graded {len(lab_rows)} submission(s) in {time.perf_counter() - started:.1f} s")
        rows += lab_rows
    write_csv(rows, args.csv or course / "grades.csv")
    print(f"grades written to {args.csv or course / 'grades.csv'}")
    incomplete = [row for row in rows if args.reference and row["score"] + row["pending_points"] < row["max_score"]]
    for row in incomplete:
        lost = {name: score for name, score in row["cells"].items() if not score and name not in row["pending"]}
        print(f"reference solution of {row['lab']} lost points in {sorted(lost)}", file=sys.stderr)
    return 1 if incomplete else 0


if __name__ == "__main__":
    sys.exit(main())
