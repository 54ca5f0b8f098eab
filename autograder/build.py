"""Build the notebooks: text solutions -> nbgrader source notebooks -> student labs.

    python -m autograder.build            # rebuild solutions/*/*.ipynb and labs/
    python -m autograder.build --check    # exit 1 if anything committed is stale

Solutions are authored as jupytext "percent" scripts, ``solutions/<lab>/<name>.py``.
A cell header carries its role in compact form and the build turns it into
nbgrader metadata:

    # %% kind="solution"                 student answer cell (### BEGIN/END SOLUTION)
    # %% kind="test" id="softmax" points=2   graded test cell (may hold hidden tests)
    # %% [markdown] kind="answer" points=2   a written answer, graded by hand (its text is
                                           the model answer the graders read)
    # %% [markdown]                      anything else: a locked, read-only cell

A test cell holds only the visible check. Its hidden region is written by the build from
the cell's id: ``check("<lab>", "<id>", globals())`` runs the declaration of the same name
in ``solutions/<lab>/exercises.py`` (``autograder/exercise.py``). Every test cell needs a
declaration and every declaration a test cell; the build refuses a lab where they differ.

The student versions in ``labs/`` come from ``nbgrader generate_assignment``,
which strips solutions and hidden tests.
"""

import argparse
import ast
import filecmp
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import jupytext
import nbformat

from autograder.grade import grading_environment
from autograder.labs import INSTRUCTOR_FILES

REPO = Path(__file__).resolve().parent.parent
KINDS = ("solution", "test", "answer", "locked")
HIDDEN = "### BEGIN HIDDEN TESTS\nfrom autograder.check import check\ncheck({lab!r}, {grade_id!r}, globals())\n### END HIDDEN TESTS"


def lab_sources(root: Path = REPO) -> list:
    """All ``solutions/<lab>/<name>.py`` notebook scripts, sorted (not the instructor files)."""
    return sorted(path for path in (root / "solutions").glob("*/*.py") if path.name not in INSTRUCTOR_FILES)


def declared_ids(lab_folder: Path) -> list:
    """The grade_ids declared in ``exercises.py``, read from its syntax (no TensorFlow import)."""
    tree = ast.parse((lab_folder / "exercises.py").read_text())
    return [node.name for node in tree.body if isinstance(node, ast.ClassDef)
            and any(getattr(base, "id", None) == "Exercise" for base in node.bases)]


def is_test(cell) -> bool:
    """An autograded test cell (not a written answer graded by hand)."""
    return cell.metadata["nbgrader"]["grade"] and not cell.metadata["nbgrader"]["solution"]


def add_hidden_regions(notebook: nbformat.NotebookNode, script: Path) -> None:
    """Append each test cell's generated hidden region; check tests and declarations agree."""
    lab = script.parent.name
    declared = declared_ids(script.parent)
    tests = [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells if is_test(cell)]
    for problem, ids in (("test cells without a declaration in exercises.py", sorted(set(tests) - set(declared))),
                         ("declarations in exercises.py without a test cell", sorted(set(declared) - set(tests)))):
        if ids:
            raise ValueError(f"{script}: {problem}: {', '.join(ids)}")
    for cell in notebook.cells:
        if is_test(cell):
            if "HIDDEN TESTS" in cell.source:
                raise ValueError(f"{script}: test cell {cell.metadata['nbgrader']['grade_id']!r} has its own hidden "
                                 "region; the build writes it from exercises.py")
            cell.source = cell.source.rstrip("\n") + "\n" + HIDDEN.format(lab=lab, grade_id=cell.metadata["nbgrader"]["grade_id"])


def to_nbgrader_notebook(script: Path) -> nbformat.NotebookNode:
    """Read a percent script and give every cell its nbgrader metadata."""
    notebook = jupytext.read(script, fmt="py:percent")
    seen_ids = set()
    for index, cell in enumerate(notebook.cells):
        metadata = cell.metadata
        kind = metadata.pop("kind", "locked")
        if kind not in KINDS:
            raise ValueError(f"{script}: cell {index} has kind={kind!r}; use one of {KINDS}")
        grade_id = metadata.pop("id", None) or f"cell-{index:02d}"
        if grade_id in seen_ids:
            raise ValueError(f"{script}: cell id {grade_id!r} is used twice")
        seen_ids.add(grade_id)
        points = metadata.pop("points", None)
        if kind in ("test", "answer") and not points:
            raise ValueError(f"{script}: {kind} cell {grade_id!r} needs points=N")
        if kind == "test" and cell.cell_type != "code":
            raise ValueError(f"{script}: test cell {grade_id!r} must be a code cell")
        if kind == "answer" and cell.cell_type != "markdown":
            raise ValueError(f"{script}: answer cell {grade_id!r} must be a markdown cell ('# %% [markdown] "
                             f"kind=\"answer\" points=N'); it is graded by hand")
        metadata.pop("lines_to_next_cell", None)
        nbgrader = {
            "grade": kind in ("test", "answer"), "grade_id": grade_id, "locked": kind not in ("solution", "answer"),
            "schema_version": 3, "solution": kind in ("solution", "answer"), "task": False,
        }
        if kind in ("test", "answer"):
            nbgrader["points"] = points
        metadata["nbgrader"] = nbgrader
        cell["id"] = grade_id.replace("_", "-")
        if cell.cell_type == "code":
            cell["outputs"], cell["execution_count"] = [], None
    notebook.metadata = nbformat.NotebookNode({
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    })
    notebook.nbformat, notebook.nbformat_minor = 4, 5
    if (script.parent / "exercises.py").exists():
        add_hidden_regions(notebook, script)
    return notebook


def student_thresholds(root: Path = REPO) -> str:
    """coursekit/thresholds.json: every lab's threshold numbers, nothing else of its table."""
    table = {}
    for path in sorted((root / "solutions").glob("*/thresholds.json")):
        metrics = json.loads(path.read_text())["metrics"]
        table[path.parent.name] = {metric: {key: entry["threshold"] for key, entry in sorted(entries.items())}
                                   for metric, entries in sorted(metrics.items())}
    return json.dumps(table, indent=1, sort_keys=True) + "\n"


def build(out_root: Path, root: Path = REPO, verbose: bool = True, labs=None) -> list:
    """Write source notebooks and student labs under ``out_root``.

    Returns:
        The written paths, relative to ``out_root``.
    """
    written = [Path("coursekit") / "thresholds.json"]
    (out_root / written[0]).parent.mkdir(parents=True, exist_ok=True)
    (out_root / written[0]).write_text(student_thresholds(root))
    with tempfile.TemporaryDirectory(prefix="course-build-") as scratch:
        course = Path(scratch)
        shutil.copy(root / "nbgrader_config.py", course / "nbgrader_config.py")
        for script in lab_sources(root):
            lab = script.parent.name
            if labs and lab not in labs:
                continue
            notebook = to_nbgrader_notebook(script)
            relative = Path("solutions") / lab / (script.stem + ".ipynb")
            for base in (out_root, course):
                (base / relative).parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(notebook, base / relative)
            written.append(relative)
            result = subprocess.run(
                [sys.executable, "-m", "nbgrader", "generate_assignment", lab, "--force",
                 f"--CourseDirectory.db_url=sqlite:///{course / 'build.db'}"],
                cwd=course, capture_output=True, text=True, env=grading_environment(),
            )
            if result.returncode != 0:
                raise RuntimeError(f"nbgrader generate_assignment {lab} failed:\n{result.stdout}{result.stderr}")
            released = course / "labs" / lab
            target = out_root / "labs" / lab
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(released, target)
            written += [Path("labs") / lab / path.name for path in sorted(released.iterdir())]
            if verbose:
                print(f"built {relative} and labs/{lab}/")
    return written


def stale_files(root: Path = REPO) -> list:
    """Files under solutions/ and labs/ that differ from a fresh build."""
    with tempfile.TemporaryDirectory(prefix="course-check-") as fresh:
        fresh_root = Path(fresh)
        written = build(fresh_root, root, verbose=False)
        stale = [str(path) for path in written
                 if not (root / path).exists() or not filecmp.cmp(fresh_root / path, root / path, shallow=False)]
        built_labs = {path.parts[1] for path in written if path.parts[0] == "labs"}
        for lab_dir in sorted((root / "labs").glob("*")):
            if lab_dir.is_dir() and lab_dir.name not in built_labs:
                stale.append(f"labs/{lab_dir.name} (no solution builds it)")
        return stale


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m autograder.build",
        description="Build solutions/<lab>/*.ipynb from their .py sources and generate "
                    "the student notebooks in labs/ with nbgrader.",
    )
    parser.add_argument("labs", nargs="*", help="labs to build (default: all)")
    parser.add_argument("--check", action="store_true",
                        help="build into a scratch folder and list committed files that are stale; "
                             "exit 1 if any")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_files()
        for path in stale:
            print(f"stale: {path}")
        print("labs/ and solutions/ are up to date" if not stale else
              "run `make build` (python -m autograder.build) and commit the result")
        return 1 if stale else 0
    known = {script.parent.name for script in lab_sources()}
    unknown = sorted(set(args.labs) - known)
    if unknown:
        parser.error(f"unknown lab(s) {unknown}; known: {sorted(known)}")
    build(REPO, labs=args.labs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
