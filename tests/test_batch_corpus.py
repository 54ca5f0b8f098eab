"""The batch grader against a corpus of bad lab-02 submissions (tests/batch_corpus.py).

One batch grades the whole corpus in parallel, sandboxed; every case is then checked
for its score and status, for what its hostile code could reach, and for leaving the
honest submissions' grades alone.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from autograder.batch.sandbox import isolation_available
from batch_corpus import FULL, LAB, SHARED_MARK, SHM_KEY, cases
from solution_text import REPO

# One batch grades the whole corpus (a module fixture): `make test` runs with --dist loadscope,
# so the module's tests share one xdist worker and the batch runs once.
pytestmark = pytest.mark.skipif(not isolation_available(), reason="sandbox needs Linux namespaces as root")
LIMITS = ["--wall", "300", "--cell-timeout", "90", "--memory", "3G", "--processes", "256", "--file-size", "64M",
          "--keep-artifacts"]


def run_batch(course, *extra):
    environment = dict(os.environ, PYTHONPATH=str(REPO), COURSE_DATA="offline", COURSE_BUDGET="smoke")
    return subprocess.run([sys.executable, "-m", "autograder.batch", LAB, "--course", str(course), "--workers", "2",
                           *LIMITS, *extra], env=environment, capture_output=True, text=True, timeout=1500)


@pytest.fixture(scope="module")
def listener():
    """A server on the grading machine's loopback that hostile code will try to reach."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    received = []

    def accept():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            received.append(connection.recv(16))

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1], received
    server.close()


@pytest.fixture(scope="module")
def graded(tmp_path_factory, listener):
    course = tmp_path_factory.mktemp("batch-course")
    port, received = listener
    corpus = cases(course, REPO, port)
    for student, content, *_ in corpus:
        folder = course / "submitted" / student / LAB
        folder.mkdir(parents=True)
        content(folder) if callable(content) else (folder / "fashion_mnist_cnn.ipynb").write_bytes(content)
    copy = Path("/srv/course-copy-for-corpus")  # a copy of the instructor side outside the course
    copy.mkdir(parents=True, exist_ok=True)
    (copy / "exercises.py").write_text((REPO / "solutions" / LAB / "exercises.py").read_text())
    try:
        result = run_batch(course)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    statuses = {}
    for student, *_ in corpus:
        path = course / "autograded" / student / LAB / "batch-status.json"
        statuses[student] = json.loads(path.read_text())
    return course, corpus, statuses, result.stdout, received


def test_corpus_is_large_and_distinct(graded):
    _, corpus, _, _, _ = graded
    contents = [content for _, content, *_ in corpus if not callable(content)]
    assert len(corpus) >= 40 and len(set(contents)) == len(contents)


CASES = 44


def test_every_case_is_checked(graded):
    assert len(graded[1]) == CASES


@pytest.mark.parametrize("index", range(CASES))
def test_case(graded, index):
    course, corpus, statuses, _, _ = graded
    student, _, status, score, evidence = corpus[index]
    result = statuses[student]
    described = f"{student}: {result['status']} {result['score']} {result['reasons']} " \
                f"{[c['message'] for c in result['checks'] if c['points'] == 0]}"
    if isinstance(status, tuple):
        assert result["status"] in status, described
    elif status is not None:
        assert result["status"] == status, described
    else:
        assert result["status"] != "ok", described
    if score is not None:
        assert result["score"] == score, described
    else:
        assert result["score"] < FULL, described
    if evidence == "BLOCKED":
        stolen = (course / ".grader" / LAB / student / "stolen.txt").read_text()
        assert stolen.startswith("BLOCKED"), f"{student} got: {stolen}"
    elif evidence:
        assert any(evidence in text for text in [*(c["message"] for c in result["checks"]), *result["reasons"]]), described
    assert result["reasons"] or result["status"] == "ok"


def test_nothing_reached_the_network(graded):
    *_, received = graded
    assert received == []


def test_gradebook_holds_each_student_once_with_their_own_grade(graded):
    from nbgrader.api import Gradebook

    course, corpus, statuses, _, _ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submissions = {s.student.id: s.score for s in gradebook.find_assignment(LAB).submissions}
    assert submissions == {student: statuses[student]["score"] for student, *_ in corpus}
    assert submissions["honest-a"] == submissions["honest-b"] == FULL


def test_feedback_and_csv(graded):
    course, corpus, statuses, stdout, _ = graded
    feedback = (course / "feedback" / "partly-wrong" / LAB / "feedback.html").read_text()
    assert "confusion_matrix_from_counts (case 1): your array is the transpose" in feedback and "macro_f1 <b>" in feedback and "data:image/png" in feedback
    assert "hidden" not in feedback and "def check_" not in feedback
    rows = (course / f"grades-{LAB}.csv").read_text().splitlines()
    assert len(rows) == len(corpus) + 1 and rows[0].endswith("status,reasons,data,budget,points_to_grade_by_hand")
    assert "statuses:" in stdout
    similarity = (course / f"similarity-{LAB}.html").read_text()
    assert f"{len(corpus)} submissions" in similarity and "<span class=shared>" in similarity


def test_nothing_a_sandbox_left_in_shared_places_reached_the_host(graded):
    for folder in ("/dev/shm", "/var/tmp", "/run/lock", "/tmp"):
        assert not (Path(folder) / SHARED_MARK).exists(), folder
    segments = subprocess.run(["ipcs", "-m"], capture_output=True, text=True).stdout
    assert f"{SHM_KEY:#010x}" not in segments


def test_no_sandbox_folder_or_control_group_is_left(graded):
    """Nothing of this batch's sandboxes is left (other batches may be running meanwhile)."""
    import hashlib

    course, corpus = graded[0], graded[1]
    assert not any((course / ".sandboxes").rglob("*.ipynb"))
    names = {f"sandbox-{hashlib.sha256(str(course / '.sandboxes' / LAB / student).encode()).hexdigest()[:20]}"
             for student, *_ in corpus}
    assert not [path for path in Path("/sys/fs/cgroup").glob("*/course-grader/sandbox-*") if path.name in names]
