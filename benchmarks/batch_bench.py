"""Benchmark the batch grader against plain sequential `nbgrader autograde`.

    python benchmarks/batch_bench.py            # 40 lab-02 submissions, smoke budget, offline data
    python benchmarks/batch_bench.py --count 12 --workers 2

Both graders get the same submissions: correct ones, partly correct ones (one or two
answers wrong) and broken ones (unreadable, untouched, a kernel that kills itself, an
endless loop). Printed: both wall times and their ratio, the batch grader's overhead
per submission beyond the notebook's own run, and whether the honest submissions got
identical scores from both. Both courses are released (``nbgrader generate_assignment``)
before the clocks start; each clock covers one grading command from start to exit.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("COURSE_DATA", "offline")
os.environ.setdefault("COURSE_BUDGET", "smoke")

from autograder.batch.corpus import honest, solution_sources, with_answers  # noqa: E402
from autograder.grade import grading_environment, prepare_course, read_grades  # noqa: E402

LAB = "02-fashion-mnist-cnn"
CELL_TIMEOUT = 60


def submissions(count: int) -> dict:
    """``count`` submissions: 40% correct, 30% partly correct, 30% broken."""
    sources = solution_sources(LAB)
    wrong = {
        "confusion": sources["cell-16"].replace("(np.asarray(y_true), np.asarray(y_pred))",
                                                "(np.asarray(y_pred), np.asarray(y_true))"),
        "pairs": sources["cell-20"].replace("-item[0], item[1], item[2]", "item[0], item[1], item[2]"),
        "means": sources["cell-07"].replace(".mean(axis=0)", ".mean(axis=1)"),
    }
    broken = [
        b"{ this is not json",
        json.dumps(with_answers(LAB, {})).encode(),
        json.dumps(honest(LAB, **{"cell-03": "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"})).encode(),
        json.dumps(honest(LAB, **{"cell-20": "while True:\n    pass"})).encode(),
    ]
    made, kinds = {}, {}
    for index in range(count):
        student = f"student{index:03d}"
        share = index % 10
        if share < 4:
            made[student], kinds[student] = json.dumps(honest(LAB)).encode(), "honest"
        elif share < 7:
            names = list(wrong)
            replaced = {("cell-16", "cell-20", "cell-07")[i % 3]: wrong[names[i % 3]] for i in range(index % 2 + 1)}
            made[student], kinds[student] = json.dumps(honest(LAB, **replaced)).encode(), "partly correct"
        else:
            made[student], kinds[student] = broken[index % len(broken)], "broken"
    return made, kinds


def place(course: Path, made: dict) -> None:
    for student, content in made.items():
        folder = course / "submitted" / student / LAB
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "fashion_mnist_cnn.ipynb").write_bytes(content)


def release(course: Path) -> None:
    """``nbgrader generate_assignment``: the release step that comes before any grading, untimed for both."""
    prepare_course(course)
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", LAB, "--force"], cwd=course,
                   env=grading_environment(), capture_output=True, check=True)


def plain_nbgrader(course: Path) -> tuple:
    environment = grading_environment()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", LAB, "--force",
                    f"--Execute.timeout={CELL_TIMEOUT}"], cwd=course, env=environment, capture_output=True)
    seconds = time.perf_counter() - started
    return seconds, {row["student"]: row["score"] for row in read_grades(course, LAB)}


def batch(course: Path, workers: int) -> tuple:
    started = time.perf_counter()
    chosen = ["--workers", str(workers)] if workers else []
    result = subprocess.run([sys.executable, "-m", "autograder.batch", LAB, "--course", str(course),
                             *chosen, "--cell-timeout", str(CELL_TIMEOUT), "--wall", "300"],
                            env=dict(grading_environment()), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(result.stdout[-3000:] + result.stderr[-3000:])
    statuses = {}
    for path in (course / "autograded").glob(f"*/{LAB}/batch-status.json"):
        statuses[path.parent.parent.name] = json.loads(path.read_text())
    used = re.search(r"(\d+) local workers", result.stdout)
    return seconds, statuses, int(used.group(1)) if used else workers


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=40)
    parser.add_argument("--workers", type=int, default=None,
                        help="the batch grader's local workers (default: its own default, two per CPU)")
    args = parser.parse_args(argv)
    made, kinds = submissions(args.count)
    print(f"{args.count} submissions of {LAB}: " + ", ".join(
        f"{sum(1 for k in kinds.values() if k == kind)} {kind}" for kind in ("honest", "partly correct", "broken")))
    with tempfile.TemporaryDirectory() as scratch:
        plain_course, batch_course = Path(scratch) / "plain", Path(scratch) / "batch"
        place(plain_course, made)
        place(batch_course, made)
        release(plain_course)
        release(batch_course)
        print("plain sequential nbgrader autograde ...", flush=True)
        plain_seconds, plain_scores = plain_nbgrader(plain_course)
        print(f"batch grader with {args.workers or 'its default number of'} workers ...", flush=True)
        batch_seconds, statuses, workers = batch(batch_course, args.workers)
    run_seconds = [s["run_seconds"] for s in statuses.values() if "run_seconds" in s]
    totals = [s["seconds"] for s in statuses.values() if "run_seconds" in s]
    overhead = sum(t - r for t, r in zip(totals, run_seconds)) / max(len(run_seconds), 1)
    honest_students = [student for student, kind in kinds.items() if kind == "honest"]
    same = all(plain_scores.get(s) == statuses[s]["score"] for s in honest_students)
    print(f"plain nbgrader autograde: {plain_seconds:8.1f} s")
    print(f"batch grader:             {batch_seconds:8.1f} s  ({workers} workers on {os.cpu_count()} CPUs)")
    print(f"speed-up:                 {plain_seconds / batch_seconds:8.2f}x")
    print(f"overhead per submission beyond running its notebook in the sandbox: {overhead:.2f} s "
          f"(assembling, collecting and judging artifacts)")
    print(f"honest submissions with identical scores in both: {same} "
          f"({sum(plain_scores.get(s) == statuses[s]['score'] for s in honest_students)} of {len(honest_students)})")
    mismatched = {s: (plain_scores.get(s), statuses[s]["score"]) for s in made
                  if plain_scores.get(s) != statuses[s]["score"]}
    if mismatched:
        print("different scores (plain, batch), expected for broken or tampering submissions only:", mismatched)
    return 0


if __name__ == "__main__":
    sys.exit(main())
