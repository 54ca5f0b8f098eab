"""Where results go: nbgrader's gradebook, a status file per submission, a CSV.

Only the batch's main process writes, one submission at a time. A submission's grades
are set and committed together; its status file is written after that commit, by
write-to-temporary-then-rename, so it is either complete or absent. A rerun skips a
submission whose status file exists for the same notebook bytes, and regrades (updating,
never duplicating, its gradebook rows) anything else. ``--force`` regrades everything.
"""

import csv
import json
import os
import random
import time
from pathlib import Path


def status_path(course: Path, lab: str, student: str) -> Path:
    return course / "autograded" / student / lab / "batch-status.json"


def write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w") as stream:
        stream.write(text)
        stream.flush()
        os.fsync(stream.fileno())
    temporary.replace(path)


def finished(course: Path, lab: str, student: str, submission_sha256: str | None) -> dict | None:
    """The stored result if this exact submission was already graded, else None."""
    path = status_path(course, lab, student)
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text())
    except (json.JSONDecodeError, OSError):
        return None
    return stored if stored.get("submission_sha256") == submission_sha256 else None


def record(db_url: str, notebook_id: str, result: dict, attempts: int = 5) -> None:
    """Write one submission's grades into the nbgrader gradebook in one commit.

    Another grader writing to the same gradebook (PostgreSQL) can make a transaction
    fail; it is rolled back whole and tried again after a short random pause.
    """
    from sqlalchemy.exc import OperationalError, IntegrityError

    for attempt in range(attempts):
        try:
            _record_once(db_url, notebook_id, result)
            return
        except (OperationalError, IntegrityError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.2 + random.random())


def _record_once(db_url: str, notebook_id: str, result: dict) -> None:
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(db_url) as gradebook:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy autoflush warnings
        gradebook.update_or_create_student(result["student"])
        try:
            gradebook.find_submission(result["lab"], result["student"])
        except MissingEntry:
            gradebook.add_submission(result["lab"], result["student"])
        for check in result["checks"]:
            grade = gradebook.find_grade(check["id"], notebook_id, result["lab"], result["student"])
            if check.get("pending"):  # a written answer: the formgrader asks for it (a grade given stays)
                grade.auto_score = None
                grade.needs_manual_grade = grade.manual_score is None
            else:
                grade.auto_score = check["points"]
                grade.needs_manual_grade = False
        gradebook.db.commit()


def plain(value):
    """JSON for what a judge's report may hold besides plain types (NumPy numbers, arrays)."""
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)


def save_status(course: Path, result: dict) -> None:
    write_atomically(status_path(course, result["lab"], result["student"]),
                     json.dumps(result, indent=1, default=plain))


def write_csv(path: Path, results: list, data_mode: str, budget: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["lab", "student", "score", "max_score", "status", "reasons", "data", "budget",
                         "points_to_grade_by_hand"])
        for result in sorted(results, key=lambda r: r["student"]):
            writer.writerow([result["lab"], result["student"], result["score"], result["max_score"],
                             result["status"], "; ".join(result["reasons"]), data_mode, budget,
                             result.get("pending_points", 0)])
    temporary.replace(path)
