"""Grade one submission: assemble, run in the sandbox, judge the artifacts.

``grade_submission(job)`` is what a local worker process or a Dask worker runs. It
never raises for anything a student did: every outcome is a ``result`` dict with a
status and plain-language reasons, so a batch always completes.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import time
from pathlib import Path

import nbformat

from autograder import labs
from autograder.batch import artifacts
from autograder.batch.assemble import UnreadableNotebook, assemble
from autograder.batch.judging import judge_in_child
from autograder.batch.sandbox import Limits, run_notebook
from autograder.check import judge_folder
from autograder.probe import probe_source

PROBE_MARK = "grader-probe"
MAX_NOTEBOOK_BYTES = 64 << 20


@dataclasses.dataclass(frozen=True)
class Job:
    lab: str
    student: str
    submission: str  # path of the submitted notebook
    course: str
    release: str     # path of the released (student) notebook
    limits: Limits
    environment: tuple = ()  # (name, value) pairs, e.g. COURSE_DATA; same on every worker
    note: str = ""  # how the notebook was chosen, when the folder held several
    keep_artifacts: bool = False  # keep what the probe saved in .grader/<lab>/<student>/


RUN_FAILURES = (  # (text in the runner's log or outputs, status, reason)
    ("MemoryError", "out-of-memory", "the notebook ran out of memory"),
    ("std::bad_alloc", "out-of-memory", "the notebook ran out of memory"),
    ("Cannot allocate memory", "out-of-memory", "the notebook ran out of memory"),
    ("File too large", "output-too-large", "the notebook wrote more than the file-size limit"),
    ("CellTimeoutError", "timeout", "a cell ran longer than the per-cell time limit"),
    ("DeadKernelError", "kernel-died", "the kernel died while running the notebook"),
    ("Kernel died", "kernel-died", "the kernel died while running the notebook"),
)


SIGNALS = (  # (signal, status, reason) when the runner itself was killed by a limit
    (signal.SIGXFSZ, "output-too-large", "the notebook wrote more than the file-size limit"),
    (signal.SIGXCPU, "cpu-limit", "the notebook used more than its CPU-time limit"),
    (signal.SIGKILL, "kernel-died", "the notebook's processes were killed (memory or process limit)"),
)


def graded_cells(release) -> list:
    """(grade_id, points) of every graded cell of the released notebook, in order."""
    return [(cell.metadata["nbgrader"]["grade_id"], float(cell.metadata["nbgrader"]["points"]))
            for cell in release.cells if cell.metadata.get("nbgrader", {}).get("grade")]


def written_answer_cells(release) -> dict:
    """{grade_id: released source} of the answers graded by hand (graded markdown solution cells)."""
    return {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in release.cells
            if labs.is_written_answer(cell)}


MAX_ANSWER_CHARACTERS = 5000


def written_answer_checks(notebook, release) -> dict:
    """{grade_id: check} for the answers graded by hand: pending when written, 0 points when the
    cell is as the lab gave it. ``notebook`` is the assembled submission."""
    stubs = written_answer_cells(release)
    checks = {}
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id not in stubs:
            continue
        points = float(cell.metadata["nbgrader"]["points"])
        written = cell.source.strip() not in ("", stubs[grade_id].strip())
        checks[grade_id] = {
            "id": grade_id, "title": "a written answer, graded by hand", "points": 0.0, "max_points": points,
            "pending": written, "answer": cell.source[:MAX_ANSWER_CHARACTERS] if written else "",
            "message": "written: awaits grading by hand" if written
            else "no answer was written (the cell is as the lab gave it)"}
    return checks


def _result(job, status, reasons, checks, started, **extra):
    score = sum(check["points"] for check in checks)
    reasons = [*reasons, job.note] if job.note else reasons
    return {"lab": job.lab, "student": job.student, "status": status, "reasons": reasons, "checks": checks,
            "score": score, "max_score": sum(check["max_points"] for check in checks),
            "pending_points": sum(check["max_points"] for check in checks if check.get("pending")),
            "seconds": round(time.perf_counter() - started, 2), **extra}


def _zero(cells, message):
    return [{"id": grade_id, "points": 0.0, "max_points": points, "message": message} for grade_id, points in cells]


def _diagnose(run, executed, graded_ids) -> tuple:
    """(status, reasons) from how the run ended."""
    if run.timed_out:
        return "timeout", [f"the notebook did not finish within the wall-time limit ({run.wall_seconds:.0f} s)"]
    if run.out_of_memory:
        return "out-of-memory", [f"the notebook used more than its memory limit "
                                 f"({run.peak_memory / (1 << 30):.1f} GiB at its peak); a process was stopped"
                                 if run.peak_memory else "the notebook used more than its memory limit"]
    text = run.log
    if executed is not None:
        slow = [cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
                for index, cell in enumerate(executed.cells)
                if cell.metadata.get("grader_timed_out")]
        if slow and "DeadKernelError" not in text:
            return "timeout", [f"{', '.join(slow)} ran longer than the per-cell time limit; it was interrupted "
                               f"and the rest of the notebook ran"]
        text += "".join(output.get("evalue", "") + output.get("ename", "")
                        for cell in executed.cells for output in cell.get("outputs", []))
    for needle, status, reason in RUN_FAILURES:
        if needle in text:
            return status, [reason]
    for signal_number, status, reason in SIGNALS:
        if run.returncode in (-signal_number, 128 + signal_number):
            return status, [reason]
    if run.returncode != 0 and executed is None:
        return "kernel-died", [f"the notebook could not be run to the end (exit code {run.returncode})"]
    if executed is not None:
        never = [cell.metadata["nbgrader"]["grade_id"] for cell in executed.cells
                 if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade_id") in graded_ids
                 and cell.execution_count is None]
        if never:
            return "tests-never-ran", [f"these test cells never ran: {', '.join(never)}"]
    return "ok", []


def _collect_artifacts(work: Path, private: Path) -> dict:
    """Move the sandbox's artifacts out of its reach and fingerprint them."""
    if private.exists():
        shutil.rmtree(private)
    private.mkdir(parents=True, mode=0o700)
    source = work / "artifacts"
    hashes = {}
    if source.is_dir() and not source.is_symlink():
        for path in source.iterdir():
            if path.is_file() and not path.is_symlink():
                target = private / path.name
                shutil.move(str(path), target)
                os.chmod(target, 0o600)
                hashes[path.name] = artifacts.sha256(target)
    return hashes


SAFE_OUTPUT_TYPES = ("text/plain", "image/png", "image/jpeg")


def autograded_notebook(executed: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What the instructor's formgrader and ``nbgrader generate_feedback`` read: the run
    notebook without the grader's probe, and with outputs reduced to plain text and
    raster images (a student's HTML, JavaScript or SVG output never reaches a browser)."""
    notebook = nbformat.from_dict(json.loads(json.dumps(executed)))
    notebook.cells = [cell for cell in notebook.cells if PROBE_MARK not in cell.metadata.get("tags", [])]
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "data" in output:
                output["data"] = {kind: value for kind, value in output["data"].items() if kind in SAFE_OUTPUT_TYPES}
    return notebook


def write_autograded(course: Path, job: Job, executed: nbformat.NotebookNode) -> None:
    """Put the run notebook where ``nbgrader autograde`` would: autograded/<student>/<lab>/."""
    target = course / "autograded" / job.student / job.lab / Path(job.release).name
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".tmp")
    nbformat.write(autograded_notebook(executed), temporary)
    temporary.replace(target)


def judge_all(lab_id: str, cells: list, private: Path, hashes: dict) -> tuple:
    """Judge every graded cell on the artifacts in ``private``.

    Returns:
        (checks, reports): a check dict per graded cell, in order, and
        {grade_id: report} for the exercises whose judge measured something.
    """
    exercises = labs.exercises(lab_id)
    try:
        if "errors.json" not in hashes:
            raise artifacts.ArtifactError("the notebook never reached the grader's probe (nothing was saved)")
        errors = artifacts.load_errors(private)
        failure = None
    except artifacts.ArtifactError as error:
        errors, failure = {}, str(error)
    checks, reports = [], {}
    for grade_id, points in cells:
        message, report = failure, {}
        if message is None:
            try:
                for name, digest in hashes.items():
                    artifacts.verify(private / name, digest)
                if grade_id not in exercises:
                    raise artifacts.ArtifactError(f"the grader has no declaration for cell '{grade_id}'")
                verdict = judge_folder(exercises[grade_id], private, errors)
                message, report = (None if verdict.passed else verdict.message), verdict.report
            except artifacts.ArtifactError as error:
                message = str(error)
        if report:
            reports[grade_id] = report
        title = (exercises[grade_id].__doc__ or "").strip().split("\n")[0] if grade_id in exercises else ""
        checks.append({"id": grade_id, "title": title, "points": points if message is None else 0.0,
                       "max_points": points, "message": message or "passed"})
    return checks, reports


def grade_submission(job: Job) -> dict:
    """Everything about one submission, as a JSON-able dict (see ``_result``)."""
    os.environ.update(dict(job.environment))
    started = time.perf_counter()
    release = nbformat.read(job.release, as_version=4)
    cells = graded_cells(release)
    submission = Path(job.submission)
    if not submission.is_symlink() and not submission.exists():
        return _result(job, "missing", ["no notebook was submitted"], _zero(cells, "no submission"), started)
    try:
        raw = artifacts.read_regular(submission, MAX_NOTEBOOK_BYTES)
    except artifacts.ArtifactError as error:
        reason = f"the submitted notebook was not read: {error}"
        return _result(job, "invalid-notebook", [reason], _zero(cells, reason), started)
    fingerprint = hashlib.sha256(raw).hexdigest()
    try:
        assembly = assemble(raw, release)
    except UnreadableNotebook as error:
        return _result(job, "invalid-notebook", [str(error)], _zero(cells, str(error)), started,
                       submission_sha256=fingerprint)
    if not assembly.answered:
        # Only the lab's stubs would run, and every stub raises: nothing to earn, so
        # nothing is run (a class's untouched notebooks cost no sandbox time).
        reason = "no answer cell was changed from the lab's stub, so the notebook was not run"
        return _result(job, "unanswered", [reason, *assembly.problems], _zero(cells, "no answer was given"),
                       started, submission_sha256=fingerprint)
    probe = nbformat.v4.new_code_cell(probe_source(job.lab), metadata={"tags": [PROBE_MARK]})
    assembly.notebook.cells.append(probe)
    course = Path(job.course)
    work = course / ".sandboxes" / job.lab / job.student
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    nbformat.write(assembly.notebook, work / "submission.ipynb")
    run = run_notebook(work, "submission.ipynb", job.limits)
    executed = None
    if run.executed is not None:
        try:
            executed = nbformat.reads(artifacts.read_regular(run.executed, MAX_NOTEBOOK_BYTES * 4).decode("utf-8"),
                                      as_version=4)
        except Exception:  # a link, a half-written or enormous file, not a notebook
            executed = None
    status, reasons = _diagnose(run, executed, {grade_id for grade_id, _ in cells})
    if executed is not None:
        write_autograded(course, job, executed)
    private = course / ".grader" / job.lab / job.student
    hashes = _collect_artifacts(work, private)
    shutil.rmtree(work, ignore_errors=True)
    answers = written_answer_checks(assembly.notebook, release)
    judged, reports = judge_in_child(job.lab, [cell for cell in cells if cell[0] not in answers], private, hashes)
    judged = {check["id"]: check for check in judged}
    checks = [answers.get(grade_id) or judged[grade_id] for grade_id, _ in cells]
    if not job.keep_artifacts:  # the feedback is written from the result; nothing re-reads them
        shutil.rmtree(private, ignore_errors=True)
    reasons = reasons + assembly.problems
    if status == "ok" and any("File too large" in check["message"] for check in checks):
        status, reasons = "output-too-large", ["an answer the grader saves (e.g. a model) was larger than the "
                                               "file-size limit; it was not kept", *reasons]
    if status == "ok" and assembly.problems:
        status = assembly.status
    return _result(job, status, reasons, checks, started, reports=reports,
                   submission_sha256=fingerprint, run_seconds=round(run.wall_seconds, 2))


def grader_error(job: Job, error: BaseException, started: float | None = None) -> dict:
    """The result for a submission the grader itself failed on: zero points, status
    ``grader-error`` and the reason, so the batch goes on and the instructor can look."""
    try:
        cells = graded_cells(nbformat.read(job.release, as_version=4))
    except Exception:
        cells = []
    reason = f"the grader failed on this submission ({type(error).__name__}: {str(error)[:300]}); regrade it " \
             f"with --force after looking at it"
    return _result(job, "grader-error", [reason], _zero(cells, reason), started or time.perf_counter())


def grade_safely(job: Job) -> dict:
    """``grade_submission`` that never raises: one submission never ends a batch."""
    started = time.perf_counter()
    try:
        return grade_submission(job)
    except Exception as error:
        return grader_error(job, error, started)
