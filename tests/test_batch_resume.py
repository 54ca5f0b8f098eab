"""The batch grader resumes after being killed, and a Dask cluster grades exactly as
the local process pool does."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from autograder.batch.corpus import honest, with_answers
from autograder.batch.sandbox import isolation_available
from solution_text import REPO

pytestmark = pytest.mark.skipif(not isolation_available(), reason="sandbox needs Linux namespaces as root")
LAB = "02-fashion-mnist-cnn"
SUBMISSIONS = {
    "a-untouched": json.dumps(with_answers(LAB, {})).encode(),
    "b-honest": json.dumps(honest(LAB)).encode(),
    "c-invalid": b"not a notebook",
}


def command(course, *extra):
    return [sys.executable, "-m", "autograder.batch", LAB, "--course", str(course), "--wall", "300", *extra]


def environment():
    return dict(os.environ, PYTHONPATH=str(REPO), COURSE_DATA="offline", COURSE_BUDGET="smoke")


def status_file(course, student):
    return course / "autograded" / student / LAB / "batch-status.json"


@pytest.fixture(scope="module")
def resumed(tmp_path_factory):
    """Kill a one-worker batch after its first submission, then run it again."""
    course = tmp_path_factory.mktemp("resume")
    for student, content in SUBMISSIONS.items():
        folder = course / "submitted" / student / LAB
        folder.mkdir(parents=True)
        (folder / "fashion_mnist_cnn.ipynb").write_bytes(content)
    first = subprocess.Popen(command(course, "--workers", "1"), env=environment(), start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while not status_file(course, "a-untouched").exists() and time.time() < deadline and first.poll() is None:
        time.sleep(0.5)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    assert status_file(course, "a-untouched").exists(), "the first submission never finished"
    killed_with = {student: status_file(course, student).exists() for student in SUBMISSIONS}
    stamp = status_file(course, "a-untouched").stat().st_mtime_ns
    second = subprocess.run(command(course, "--workers", "2"), env=environment(), capture_output=True, text=True,
                            timeout=900)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    return course, killed_with, stamp, second.stdout


def test_rerun_skips_finished_work_and_completes_the_rest(resumed):
    course, killed_with, stamp, stdout = resumed
    assert not all(killed_with.values()), "the kill came too late to test anything"
    assert f"{sum(killed_with.values())} already graded" in stdout
    assert status_file(course, "a-untouched").stat().st_mtime_ns == stamp
    assert all(status_file(course, student).exists() for student in SUBMISSIONS)


def test_no_grade_lost_or_duplicated(resumed):
    from nbgrader.api import Gradebook

    course, *_ = resumed
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        submissions = gradebook.find_assignment(LAB).submissions
        scores = {s.student.id: s.score for s in submissions}
        by_hand = {s.student.id: s.needs_manual_grade for s in submissions}
    # 19 points in all: the honest submission's written answer (2) awaits grading by hand
    assert scores == {"a-untouched": 0.0, "b-honest": 17.0, "c-invalid": 0.0}
    assert by_hand == {"a-untouched": False, "b-honest": True, "c-invalid": False}


def test_force_regrades(resumed):
    course, *_ = resumed
    forced = subprocess.run(command(course, "--workers", "2", "--force"), env=environment(), capture_output=True,
                            text=True, timeout=900)
    assert "0 already graded, 3 to grade" in forced.stdout


def test_dask_cluster_grades_like_the_local_pool(resumed, tmp_path):
    from distributed import LocalCluster

    course, *_ = resumed
    copy = tmp_path / "dask-course"
    shutil.copytree(course / "submitted", copy / "submitted")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = subprocess.run(command(copy, "--dask", cluster.scheduler_address), env=environment(),
                                capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Dask at tcp://" in result.stdout
    for student in SUBMISSIONS:
        local = json.loads(status_file(course, student).read_text())
        remote = json.loads(status_file(copy, student).read_text())
        assert [(c["id"], c["points"], c["message"]) for c in remote["checks"]] == \
               [(c["id"], c["points"], c["message"]) for c in local["checks"]]
        assert remote["status"] == local["status"]
