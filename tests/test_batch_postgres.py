"""Two batch graders at once, writing to one PostgreSQL gradebook.

Two teaching assistants grade two sections of a class at the same time, each with its
own course folder, into the same nbgrader gradebook on a PostgreSQL server (started
here, on loopback, in a throwaway cluster). Both batches must complete, the lab must be
registered once, and every student must be in the gradebook once with their own grade.
A rerun of one section then resumes (nothing to grade) and duplicates nothing.

The server comes from Debian's ``postgresql`` package (``.ci/run`` installs it); where
it is absent the test is skipped with that reason.
"""

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from autograder.batch.corpus import honest, solution_sources, with_answers
from solution_text import REPO

LAB = "02-fashion-mnist-cnn"
NOTEBOOK = "fashion_mnist_cnn.ipynb"


def _postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def _runuser() -> str | None:
    return shutil.which("runuser") or next(
        (path for path in ("/usr/sbin/runuser", "/sbin/runuser") if os.path.exists(path)), None)


def _as_postgres(*command) -> list:
    """Run as the ``postgres`` user when we are root (PostgreSQL refuses to run as root)."""
    return [_runuser(), "-u", "postgres", "--", *command] if os.geteuid() == 0 else list(command)


@pytest.fixture(scope="module")
def postgres_url():
    binaries = _postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql; .ci/run installs it)")
    if os.geteuid() == 0 and _runuser() is None:
        pytest.skip("running as root without runuser, so PostgreSQL cannot be started as its own user")
    pytest.importorskip("psycopg", reason="psycopg (PostgreSQL driver) is in requirements.txt")
    # Not under pytest's own temporary folder: that one is private to root (0700), and
    # the server runs as the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="course-postgres-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    subprocess.run(_as_postgres(f"{binaries}/initdb", "-D", str(data), "--auth=trust", "-U", "postgres"),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres(f"{binaries}/pg_ctl", "-D", str(data), "-w", "-l", str(folder / "server.log"),
                                "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"),
                   check=True, capture_output=True)
    try:
        subprocess.run(_as_postgres(f"{binaries}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
                                    "gradebook"), check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/gradebook"
    finally:
        subprocess.run(_as_postgres(f"{binaries}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _section(root, name: str, notebooks: dict):
    course = root / name
    for student, content in notebooks.items():
        folder = course / "submitted" / student / LAB
        folder.mkdir(parents=True)
        (folder / NOTEBOOK).write_bytes(content)
    return course


def _batch(course, db_url, *extra):
    environment = dict(os.environ, PYTHONPATH=str(REPO), COURSE_DATA="offline", COURSE_BUDGET="smoke")
    return subprocess.Popen([sys.executable, "-m", "autograder.batch", LAB, "--course", str(course), "--db", db_url,
                             "--workers", "1", "--cell-timeout", "120", *extra],
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_two_graders_share_one_postgres_gradebook(tmp_path, postgres_url):
    from nbgrader.api import Gradebook

    wrong_confusion = solution_sources(LAB)["cell-16"].replace(
        "np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)",
        "np.add.at(matrix, (np.asarray(y_pred), np.asarray(y_true)), 1)")
    section_a = _section(tmp_path, "section-a", {
        "ana": json.dumps(honest(LAB)).encode(),
        "ben": b"{ not a notebook",
        "cho": json.dumps(with_answers(LAB, {})).encode(),
    })
    section_b = _section(tmp_path, "section-b", {
        "dev": json.dumps(honest(LAB, **{"cell-16": wrong_confusion})).encode(),
        "eli": json.dumps(with_answers(LAB, {})).encode(),
        "fay": b"\x00\x01 binary",
    })
    started = time.perf_counter()
    graders = [_batch(section_a, postgres_url), _batch(section_b, postgres_url)]
    outputs = [grader.communicate(timeout=900)[0] for grader in graders]
    for grader, output in zip(graders, outputs):
        assert grader.returncode == 0, output[-3000:]
    print(f"two graders, one PostgreSQL gradebook: {time.perf_counter() - started:.1f} s")

    # lab 02's 17 autograded points; the written answers of ana and dev (2 more each) wait for a person
    expected = {"ana": 17.0, "ben": 0.0, "cho": 0.0, "dev": 15.0, "eli": 0.0, "fay": 0.0}
    with Gradebook(postgres_url) as gradebook:
        assignment = gradebook.find_assignment(LAB)
        scores = {submission.student_id: submission.score for submission in assignment.submissions}
        assert len(gradebook.assignments) == 1
        assert len(gradebook.students) == len(expected)
    assert scores == expected

    rerun = _batch(section_a, postgres_url)
    output = rerun.communicate(timeout=300)[0]
    assert rerun.returncode == 0, output[-3000:]
    assert "3 already graded, 0 to grade" in output
    with Gradebook(postgres_url) as gradebook:
        assignment = gradebook.find_assignment(LAB)
        assert sorted(submission.student_id for submission in assignment.submissions) == sorted(expected)
        assert {s.student_id: s.score for s in assignment.submissions} == expected
