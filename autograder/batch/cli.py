"""Grade a whole class: parallel, sandboxed, tamper-proof, resumable.

    python -m autograder.batch 02-fashion-mnist-cnn                      # submitted/*/02-.../
    python -m autograder.batch 02-fashion-mnist-cnn --zip lms-export.zip # via nbgrader zip_collect
    python -m autograder.batch 02-fashion-mnist-cnn --dask tcp://scheduler:8786
    python -m autograder.batch 02-fashion-mnist-cnn --force              # regrade everything

Submissions use nbgrader's layout, <course>/submitted/<student>/<lab>/<notebook>.ipynb.
Each one runs in its own sandbox (see autograder/batch/sandbox.py) with only the lab's
answer cells taken from the student; the grader then judges what the notebook saved
(answers on fixed inputs, and models) in its own process, on its own data. Grades go to
nbgrader's gradebook (SQLite by default, any SQLAlchemy URL with --db, e.g. PostgreSQL
for several graders at once), to <course>/grades-<lab>.csv with a status and reasons per
student, and to <course>/feedback/<student>/<lab>/feedback.html.

A killed batch resumes where it stopped: finished submissions are not graded again.
"""

import argparse
import os
import random
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from tqdm import tqdm

from autograder.batch import store
from autograder.batch.cgroups import Group, remove_stale
from autograder.batch.feedback import write_feedback
from autograder import labs
from autograder.batch.pipeline import Job, grade_safely, grader_error, graded_cells
from autograder.batch.sandbox import Limits, isolation_available
from autograder.grade import REPO, grading_environment, nbgrader, prepare_course, settle_thresholds
from coursekit.lab import budget_from_env, data_mode_from_env

ENVIRONMENT_NAMES = ("COURSE_DATA", "COURSE_BUDGET", "COURSE_DATA_MIRROR", "KERAS_HOME")


def parse_size(text: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper()
    try:
        return int(float(text[:-1]) * units[text[-1]]) if text[-1] in units else int(text)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a size such as 6G or 512M")


def collect_zip(course: Path, lab: str, archive: Path, regexp: str) -> None:
    """Unpack an LMS export into submitted/ with ``nbgrader zip_collect``."""
    folder = course / "downloaded" / lab / "archive"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(archive, folder / archive.name)
    result = nbgrader(course, "zip_collect", lab, "--force",
                      f"--FileNameCollector.named_regexp={regexp}")
    if result.returncode != 0:
        raise SystemExit(f"nbgrader zip_collect failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")


def registered(db_url: str, lab: str, release: Path) -> bool:
    """Whether the gradebook already has the lab with the release's graded cells and points."""
    import nbformat
    from nbgrader.api import Gradebook, MissingEntry

    wanted = set(graded_cells(nbformat.read(release, as_version=4)))
    try:
        with Gradebook(db_url) as gradebook:
            notebook = gradebook.find_notebook(release.stem, lab)
            return {(cell.name, float(cell.max_score)) for cell in notebook.grade_cells} == wanted
    except MissingEntry:
        return False


def register_lab(course: Path, lab: str, db_url: str, release: Path, attempts: int = 5) -> None:
    """Make sure the gradebook knows the lab and its cells (from the solution source).

    Several graders may share one gradebook (PostgreSQL) and start at the same moment:
    a registration that fails is retried after a short random pause, and counts as done
    as soon as the gradebook has the lab, whoever registered it.
    """
    from sqlalchemy.exc import SQLAlchemyError

    failure = ""
    for attempt in range(attempts):
        try:
            if registered(db_url, lab, release):
                return
            result = nbgrader(course, "generate_assignment", lab, "--force", f"--CourseDirectory.db_url={db_url}")
            if result.returncode == 0:
                return
            failure = f"nbgrader generate_assignment failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
        except SQLAlchemyError as error:
            failure = f"the gradebook at {db_url} could not be read: {error}"
        time.sleep(0.5 + random.random() * 2)
    raise SystemExit(failure)


def _lab_cells_in(path: Path, stubs: dict) -> tuple:
    """(how many of the lab's cells a notebook holds, how many of its answers it changed),
    (0, 0) if it cannot be read. ``stubs``: {grade_id: released source} of every cell."""
    from autograder.batch.artifacts import ArtifactError, read_regular
    from autograder.batch.assemble import UnreadableNotebook, _grade_id, _source, read_submission

    try:
        content = read_submission(read_regular(path, 64 << 20))
    except (ArtifactError, UnreadableNotebook):
        return 0, 0
    cells = {_grade_id(cell): _source(cell) for cell in content["cells"] if isinstance(cell, dict)}
    held = [grade_id for grade_id in cells if grade_id in stubs]
    return len(held), sum(cells[grade_id] != stubs[grade_id] for grade_id in held)


def choose_notebook(folder: Path, release: Path, stubs: dict) -> tuple:
    """(the notebook to grade, a note for the student or "") in one submission folder.

    The release's own name wins; otherwise the notebook holding most of the lab's cells,
    then most answers.
    """
    notebooks = sorted(path for path in folder.glob("*.ipynb") if not path.name.startswith("."))
    if len(notebooks) <= 1:
        return (notebooks[0] if notebooks else folder / release.name), ""
    others = ", ".join(path.name for path in notebooks if path.name != release.name)
    if (folder / release.name) in notebooks:
        return folder / release.name, f"graded {release.name}, the lab's notebook; not graded: {others}"
    best = max(notebooks, key=lambda path: _lab_cells_in(path, stubs))
    rest = ", ".join(path.name for path in notebooks if path != best)
    return best, f"graded {best.name}, the notebook holding most of the lab's cells; not graded: {rest}"


def find_jobs(course: Path, lab: str, release: Path, limits: Limits, environment, keep_artifacts=False) -> list:
    import nbformat

    stubs = {cell.metadata["nbgrader"]["grade_id"]: cell.source for cell in nbformat.read(release, as_version=4).cells
             if "nbgrader" in cell.metadata}
    folders = sorted(path for path in (course / "submitted").glob(f"*/{lab}") if path.is_dir())
    jobs = []
    for folder in folders:
        submission, note = choose_notebook(folder, release, stubs)
        jobs.append(Job(lab, folder.parent.name, str(submission), str(course), str(release), limits,
                        environment, note, keep_artifacts))
    return jobs


WORKERS_PER_CPU = 2
MEMORY_PER_WORKER = 2 << 30  # what one smoke/full lab notebook with TensorFlow really uses, with room


def default_workers() -> int:
    """Two workers per CPU, as far as the available memory allows.

    A grading notebook does not keep its CPU busy all the time: its kernel starts, cells
    wait on the runner, and a cell that loops forever holds a worker for the whole per-cell
    limit. A second worker per CPU fills those gaps (measured on 2 cores with 40 lab-02
    submissions: 445 s with 2 workers, 407 s with 3, 394 s with 4).
    """
    import psutil

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    by_memory = int(psutil.virtual_memory().available // MEMORY_PER_WORKER)
    return max(1, min(WORKERS_PER_CPU * cpus, by_memory))


def run_jobs(jobs, workers: int, dask_address: str | None):
    """Yield results as they finish, from a local process pool or a Dask cluster."""
    if dask_address:
        from distributed import Client, as_completed as dask_completed

        with Client(dask_address) as client:
            futures = client.map(grade_safely, jobs, pure=False)
            by_key = {future.key: job for future, job in zip(futures, jobs)}
            for future in dask_completed(futures):
                try:
                    yield future.result()
                except Exception as error:  # the worker itself died
                    yield grader_error(by_key[future.key], error)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(grade_safely, job): job for job in jobs}
        for future in as_completed(futures):
            try:
                yield future.result()
            except Exception as error:  # the worker process itself died (e.g. killed for memory)
                yield grader_error(futures[future], error)


def keep(course: Path, db_url: str, notebook_id: str, result: dict) -> None:
    """Gradebook row, feedback page, then status file (which marks the submission done).
    A failure to store one submission is reported in its result, never ends the batch."""
    for step, action in (("gradebook", lambda: store.record(db_url, notebook_id, result)),
                         ("feedback page", lambda: write_feedback(course, result))):
        try:
            action()
        except Exception as error:
            result["reasons"].append(f"the {step} could not be written ({type(error).__name__}: {str(error)[:200]})")
            result["status"] = "grader-error"
    try:
        store.save_status(course, result)
    except OSError as error:
        result["reasons"].append(f"the status file could not be written ({error.strerror})")


def folder_bytes(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink()) \
        if folder.is_dir() else 0


def clean(course: Path, lab: str) -> int:
    """Remove the lab's sandboxes and kept artifacts; return the bytes freed."""
    freed = 0
    for folder in (course / ".sandboxes" / lab, course / ".grader" / lab):
        freed += folder_bytes(folder)
        shutil.rmtree(folder, ignore_errors=True)
    return freed


def summary_table(results: list) -> str:
    lines = [f"{'student':<24} {'score':>11}  status          reasons"]
    for result in sorted(results, key=lambda r: r["student"]):
        reasons = "; ".join(result["reasons"])
        lines.append(f"{result['student']:<24} {result['score']:>5g} / {result['max_score']:<4g}  "
                     f"{result['status']:<15} {reasons[:90]}")
    counts = {}
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    lines.append("statuses: " + ", ".join(f"{status} {count}" for status, count in sorted(counts.items())))
    by_hand = [result for result in results if result.get("pending_points")]
    if by_hand:
        lines.append(f"written answers to grade by hand: {len(by_hand)} submission(s), up to "
                     f"{max(result['pending_points'] for result in by_hand):g} points each, not in the scores above "
                     f"(nbgrader's formgrader lists them under 'Manual Grading')")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.batch", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lab", help="the lab to grade, e.g. 02-fashion-mnist-cnn")
    parser.add_argument("--course", type=Path, default=REPO, help="nbgrader course folder (default: this repo)")
    parser.add_argument("--zip", type=Path, help="an LMS export to collect first with nbgrader zip_collect")
    parser.add_argument("--zip-regexp", default=r".*?(?P<student_id>[^/\\]+)[/\\](?P<file_id>[^/\\]+\.ipynb)$",
                        help="FileNameCollector.named_regexp for --zip (default: <student>/<notebook>.ipynb)")
    parser.add_argument("--workers", type=int, default=None,
                        help="local worker processes (default: two per CPU, fewer if memory is short: "
                             "one per 2 GiB available)")
    parser.add_argument("--dask", metavar="ADDRESS", help="run on this Dask scheduler instead of locally; "
                        "workers must see the course folder at the same path")
    parser.add_argument("--db", help="gradebook SQLAlchemy URL (default sqlite:///<course>/gradebook.db)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that are already graded")
    parser.add_argument("--keep-artifacts", action="store_true",
                        help="keep what each notebook's probe saved (answers, models) in <course>/.grader/<lab>/ "
                             "for inspection; by default it is removed once judged")
    parser.add_argument("--clean", action="store_true",
                        help="remove what earlier or crashed batches of this lab left in <course>/.sandboxes and "
                             "<course>/.grader, say how much, and exit")
    parser.add_argument("--no-similarity", action="store_true",
                        help="skip the similarity report (<course>/similarity-<lab>.html: pairs of submissions "
                             "sharing code, side by side; it changes no grade)")
    parser.add_argument("--calibrate-missing", action="store_true",
                        help="before grading, calibrate every threshold that is provisional or missing for "
                             "this data and budget (5 seeds of the reference; stored in the lab's table)")
    parser.add_argument("--memory", type=parse_size, default=Limits.memory, help="memory per submission (6G)")
    parser.add_argument("--wall", type=int, default=Limits.wall_seconds, help="wall-time seconds per submission")
    parser.add_argument("--cpu", type=int, default=Limits.cpu_seconds, help="CPU seconds per submission")
    parser.add_argument("--cell-timeout", type=int, default=Limits.cell_seconds, help="seconds per cell")
    parser.add_argument("--processes", type=int, default=Limits.processes, help="processes per submission")
    parser.add_argument("--file-size", type=parse_size, default=Limits.file_size, help="largest file (256M)")
    args = parser.parse_args(argv)
    if args.workers is None:
        args.workers = default_workers()
    elif args.workers < 1:
        parser.error(f"--workers {args.workers}: give at least 1")

    try:
        if not (labs.folder(args.lab) / "exercises.py").exists():
            parser.error(f"{args.lab} declares no exercises (solutions/{args.lab}/exercises.py)")
    except labs.UnknownLab as error:
        parser.error(str(error))
    # Graded kernels' settings, and this interpreter's scripts folder on PATH: nbgrader's
    # Gradebook runs `alembic` as a command when it creates a gradebook.
    os.environ.update(grading_environment())
    course = args.course.resolve()
    if args.clean:
        print(f"removed {clean(course, args.lab) / (1 << 20):.1f} MB left by earlier batches of {args.lab}")
        return 0
    prepare_course(course)
    releases = sorted((REPO / "labs" / args.lab).glob("*.ipynb"))
    if not releases:
        parser.error(f"no released notebook in labs/{args.lab}/; run `make build`")
    db_url = args.db or f"sqlite:///{course / 'gradebook.db'}"
    if args.zip:
        if not args.zip.is_file():
            parser.error(f"--zip {args.zip}: no such file")
        collect_zip(course, args.lab, args.zip.resolve(), args.zip_regexp)
    register_lab(course, args.lab, db_url, releases[0])
    settle_thresholds(args.lab, args.calibrate_missing)
    if Group.available():
        remove_stale()  # control groups a killed grader left
    limits = Limits(args.memory, args.cpu, args.wall, args.cell_timeout, args.processes, args.file_size)
    environment = tuple((name, os.environ[name]) for name in ENVIRONMENT_NAMES if name in os.environ)
    jobs = find_jobs(course, args.lab, releases[0], limits, environment, args.keep_artifacts)
    from autograder.batch.artifacts import sha256

    todo, results = [], []
    for job in jobs:
        path = Path(job.submission)
        done = None if args.force or not path.is_file() else store.finished(course, args.lab, job.student, sha256(path))
        (results.append(done) if done else todo.append(job))
    print(f"{args.lab}: {len(jobs)} submissions, {len(results)} already graded, {len(todo)} to grade; "
          f"data={data_mode_from_env()} budget={budget_from_env().name}; "
          f"{'Dask at ' + args.dask if args.dask else f'{args.workers} local workers'}; "
          f"isolation: {'namespaces + private user + limits' if isolation_available() else 'limits only (no namespaces here)'}")
    started = time.perf_counter()
    notebook_id = releases[0].stem
    with tqdm(total=len(todo), unit="submission", dynamic_ncols=True) as progress:
        for result in run_jobs(todo, args.workers, args.dask):
            keep(course, db_url, notebook_id, result)
            results.append(result)
            progress.set_postfix_str(f"{result['student']}: {result['score']:g}/{result['max_score']:g} {result['status']}")
            progress.update()
    csv_path = course / f"grades-{args.lab}.csv"
    store.write_csv(csv_path, results, data_mode_from_env(), budget_from_env().name)
    print(summary_table(results))
    if not args.no_similarity:
        try:
            from autograder.similarity import similarity_report

            summary = similarity_report(course, args.lab, releases[0], course / f"similarity-{args.lab}.html")
            print(f"similarity: {summary['submissions']} submissions compared in {summary['seconds']} s, "
                  f"{summary['pairs_listed']} pairs to look at in {summary['path']}")
        except Exception as error:  # a report, never a reason to fail the batch
            print(f"similarity report not written: {type(error).__name__}: {error}", file=sys.stderr)
    print(f"graded {len(todo)} in {time.perf_counter() - started:.1f} s; grades in {db_url} and {csv_path}; "
          f"feedback in {course / 'feedback'}; kept {folder_bytes(course / '.grader' / args.lab) / (1 << 20):.1f} MB "
          f"of artifacts in {course / '.grader' / args.lab}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
