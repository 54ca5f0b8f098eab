"""Judge an exercise's saved outputs; and the in-kernel transport for plain nbgrader.

Both graders end in ``judge_folder``: the outputs that ``coursekit.probe`` saved are read
back (``autograder.batch.artifacts``) and handed to the exercise's ``judge``.

- Plain ``nbgrader autograde``: the hidden region of every test cell, written by the
  build, is ``check("<lab id>", "<grade_id>", globals())``. It calls the student's code
  in the kernel, saves the outputs to a scratch folder and judges them there.
- The batch grader: a probe cell (``autograder.probe``) saves every exercise's outputs
  inside the sandbox; the grader judges them in its own process.
"""

import contextlib
import dataclasses
import io
import tempfile
from pathlib import Path

from autograder import labs
from autograder.batch.artifacts import ArtifactError, load_outputs
from autograder.exercise import Failure
from coursekit.probe import MissingName, describe_error, save_outputs, student_names


@dataclasses.dataclass
class Verdict:
    """How one exercise was judged.

    Attributes:
        grade_id: the exercise.
        passed: whether it earns its points.
        message: "passed", or what is wrong, for the student.
        report: what the judge measured (scores, threshold, confusion matrix...), or {}.
        log: what the judge printed.
    """

    grade_id: str
    passed: bool
    message: str
    report: dict
    log: str = ""


def call_failed(error_line: str) -> str:
    """The message when the student's code raised on the grader's inputs."""
    if error_line.startswith("MissingName: "):
        return error_line.removeprefix("MissingName: ")
    return f"your code raised {error_line} on the grader's inputs"


def judge_folder(exercise, folder: Path, errors: dict) -> Verdict:
    """Read back ``exercise``'s outputs from ``folder`` and judge them; never raises.

    Args:
        exercise: the ``Exercise`` subclass.
        folder: where ``coursekit.probe.save_outputs`` wrote them.
        errors: {grade_id: error line} of the calls that raised.
    """
    grade_id = exercise.grade_id()
    if grade_id in errors:
        return Verdict(grade_id, False, call_failed(errors[grade_id]), {})
    log = io.StringIO()
    try:
        with contextlib.redirect_stdout(log):
            outputs = load_outputs(folder, grade_id)
            report = exercise.judge(outputs, exercise.inputs()) or {}
        return Verdict(grade_id, True, "passed", dict(report), log.getvalue())
    except Failure as failure:
        return Verdict(grade_id, False, str(failure), failure.report, log.getvalue())
    except (AssertionError, ArtifactError) as error:
        return Verdict(grade_id, False, str(error), {}, log.getvalue())
    except Exception as error:  # a judge tripped over an answer of an unexpected form
        return Verdict(grade_id, False, f"the check could not be completed ({describe_error(error)})", {},
                       log.getvalue())


def check(lab_id: str, grade_id: str, namespace: dict) -> dict:
    """The hidden test of one graded cell, run in the student's kernel.

    Raises:
        Failure: the exercise is wrong; the message says how.

    Returns:
        The judge's report.
    """
    exercise = labs.exercises(lab_id)[grade_id]
    errors = {}
    with tempfile.TemporaryDirectory(prefix="course-check-") as scratch:
        try:
            outputs = exercise.call(exercise.inputs(), **student_names(exercise.call, namespace))
            save_outputs(outputs, scratch, grade_id)
        except (Exception, SystemExit) as error:
            errors[grade_id] = describe_error(error)
            raise Failure(f"hidden check {grade_id}: {call_failed(errors[grade_id])}") from \
                (None if isinstance(error, MissingName) else error)
        verdict = judge_folder(exercise, Path(scratch), errors)
    print(verdict.log, end="")
    if not verdict.passed:
        raise Failure(f"hidden check {grade_id}: {verdict.message}", verdict.report)
    print(f"OK hidden check {grade_id}")
    return verdict.report
