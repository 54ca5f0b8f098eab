"""What students install or download holds no reference solution and no hidden test."""

import ast
import subprocess
import sys
import zipfile

import pytest

from solution_text import REGION, REPO, instructor_sources, notebook_sources, shared_runs


@pytest.fixture(scope="module")
def student_wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(out), str(REPO)], check=True, capture_output=True, cwd=out)
    (wheel,) = out.glob("*.whl")
    return wheel


def test_student_wheel_contains_only_the_kit(student_wheel):
    names = zipfile.ZipFile(student_wheel).namelist()
    packages = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert packages == {"coursekit"}
    assert not any("autograder" in name or "solutions" in name or "references" in name for name in names)


def test_student_wheel_holds_no_solution_text(student_wheel):
    regions = [body for script in notebook_sources() if script.suffix == ".py"
               for _, body in REGION.findall(script.read_text())]
    assert len(regions) > 20
    with zipfile.ZipFile(student_wheel) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8", "replace")
            assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text, name
            for body in regions:
                assert shared_runs(text, body) == [], name


def test_student_kit_never_imports_the_autograder():
    for module in (REPO / "coursekit").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            assert not any(name.split(".")[0] == "autograder" for name in names), module


def test_reference_code_lives_only_on_the_instructor_side():
    """No run of a lab's reference or judging code reaches students, except the runs that
    the notebooks show students anyway (given code the judges happen to share)."""
    references = [path.read_text() for path in instructor_sources()]
    assert len(references) >= 3
    public = "\n".join(REGION.sub("", path.read_text()) for path in notebook_sources() if path.suffix == ".py")
    for path in [*(REPO / "coursekit").rglob("*.py"), *(REPO / "labs").rglob("*.ipynb")]:
        for reference in references:
            shown_anyway = set(shared_runs(public, reference))
            assert [run for run in shared_runs(path.read_text(), reference) if run not in shown_anyway] == [], path


def test_run_detector_catches_copied_reference_code():
    reference = (REPO / "solutions" / "02-fashion-mnist-cnn" / "reference.py").read_text()
    body = reference[reference.index("def most_confused_pairs"):]
    assert shared_runs("something\n" + body, reference)
