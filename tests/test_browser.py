"""What students and instructors see, in a real browser: Debian's Chromium driven by Playwright.

- A student opens lab 02 in JupyterLab and runs it: a wrong answer shows its check's
  message (and only the message), right answers show "OK", and nbgrader's Validate button
  passes a finished notebook.
- An instructor opens the formgrader: the labs are listed, and a batch-graded submission
  is there, in Manage Students and in Manual Grading, where the score typed for its written
  answer reaches the gradebook.
- A batch feedback page renders, with its confusion-matrix image.

Screenshots of every step go to build/screenshots/ (CI keeps them as artifacts). Without
Chromium (Debian's `chromium`, which `.ci/run` installs) the tests are skipped, saying so.
"""

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.batch.corpus import honest, released_name, solution_sources
from autograder.batch.sandbox import isolation_available
from autograder.grade import grading_environment, prepare_course
from solution_text import REPO

LAB = "02-fashion-mnist-cnn"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = REPO / "build" / "screenshots"
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _transposed_confusion() -> dict:
    source = solution_sources(LAB)["cell-16"].replace("(np.asarray(y_true), np.asarray(y_pred))",
                                                      "(np.asarray(y_pred), np.asarray(y_true))")
    return honest(LAB, **{"cell-16": source})


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A course folder: a student's two notebooks, and one batch-graded submission."""
    folder = tmp_path_factory.mktemp("browser-course")
    prepare_course(folder)
    shutil.copytree(REPO / "labs", folder / "labs")
    student = folder / "student"
    student.mkdir()
    (student / "wrong.ipynb").write_text(json.dumps(_transposed_confusion()))
    (student / "finished.ipynb").write_text(json.dumps(honest(LAB)))
    submitted = folder / "submitted" / "ada" / LAB
    submitted.mkdir(parents=True)
    (submitted / released_name(LAB)).write_text(json.dumps(_transposed_confusion()))
    environment = dict(grading_environment(), COURSE_DATA="offline", COURSE_BUDGET="smoke")
    if isolation_available():
        batch = subprocess.run([sys.executable, "-m", "autograder.batch", LAB, "--course", str(folder),
                                "--workers", "1"], env=environment, capture_output=True, text=True, timeout=900)
        assert batch.returncode == 0, batch.stdout[-2000:] + batch.stderr[-2000:]
    return folder, environment


@pytest.fixture(scope="module")
def jupyter(course):
    """JupyterLab on the course folder, started as an instructor would (`make lab`)."""
    folder, environment = course
    port, token = _free_port(), secrets.token_hex(16)
    environment = {key: value for key, value in environment.items() if key != "PYTHONWARNINGS"}
    environment["PATH"] = os.pathsep.join(part for part in environment["PATH"].split(os.pathsep)
                                          if ".venv" not in part)  # not activated: the config must cope
    log = open(folder / "jupyter.log", "w")
    server = subprocess.Popen([str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
                               f"--port={port}", f"--IdentityProvider.token={token}", "--ServerApp.ip=127.0.0.1",
                               f"--ServerApp.root_dir={folder}", "--allow-root"],
                              cwd=folder, env=environment, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start: " + (folder / "jupyter.log").read_text()[-2000:])
    yield base, token, folder
    server.terminate()
    server.wait(timeout=30)
    log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"], headless=True)
        yield chromium
        chromium.close()


def _page(browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(240_000)
    return page


def _open(page, url: str) -> None:
    """Open a notebook and wait until its kernel is ready."""
    page.goto(url)
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
    page.locator("text=Kernel status: Idle").first.wait_for(state="attached", timeout=120_000)


def _attached(page, text: str):
    """The element showing ``text`` (JupyterLab may not render off-screen cells visibly)."""
    locator = page.locator(f"text={text}").first
    locator.wait_for(state="attached")
    return locator


def _run_all(page) -> None:
    """Run > Run All Cells; once more if no cell has started within a minute (a click
    that lands while the kernel is still connecting can be lost)."""
    for attempt in range(2):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
        try:
            page.locator(".jp-InputArea-prompt:has-text('[1]')").first.wait_for(state="attached", timeout=60_000)
            return
        except Exception:
            page.screenshot(path=str(SCREENSHOTS / f"run-all-attempt-{attempt + 1}.png"))
    raise AssertionError("Run All Cells never started the notebook")


def test_a_student_sees_what_is_wrong_and_what_is_right(jupyter, browser):
    base, token, _ = jupyter
    page = _page(browser)
    _open(page, f"{base}/lab/workspaces/wrong/tree/student/wrong.ipynb?reset&token={token}")
    _run_all(page)
    failure = _attached(page, "rows and columns are swapped")
    _attached(page, "OK model: 8 layers as specified")
    _attached(page, "Epoch 1/")  # training shows its progress at the smoke budget too
    stderr = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
    tensorflow_lines = ("absl", "oneDNN", "cpu_feature_guard", "I0000", "W0000", "E0000")
    assert not [text for text in stderr if any(line in text for line in tensorflow_lines)], stderr
    failure.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "student-wrong-answer.png"))
    output = failure.evaluate("node => node.closest('.jp-OutputArea-output').textContent")
    assert "CheckFailed" in output and "checks.py" not in output and "Traceback" not in output
    page.close()


def test_validate_passes_a_finished_notebook(jupyter, browser):
    base, token, _ = jupyter
    page = _page(browser)
    _open(page, f"{base}/lab/workspaces/finished/tree/student/finished.ipynb?reset&token={token}")
    page.locator(".validate-button:visible").first.click()
    page.wait_for_selector("text=Success! Your notebook passes all the tests.")
    page.screenshot(path=str(SCREENSHOTS / "student-validate-success.png"))
    page.close()


def test_the_formgrader_lists_the_labs_and_a_batch_graded_submission(jupyter, browser):
    if not isolation_available():
        pytest.skip("the batch grader's sandbox needs Linux namespaces as root")
    base, token, folder = jupyter
    page = _page(browser)
    page.goto(f"{base}/formgrader/manage_assignments?token={token}")
    for lab in sorted(path.name for path in (REPO / "labs").iterdir()):
        page.wait_for_selector(f"text={lab}", timeout=120_000)
    page.screenshot(path=str(SCREENSHOTS / "formgrader-labs.png"))
    assert (folder / "gradebook.db").exists()
    page.goto(f"{base}/formgrader/manage_students?token={token}")
    page.wait_for_selector("text=ada")
    page.screenshot(path=str(SCREENSHOTS / "formgrader-students.png"))
    notebook = Path(released_name(LAB)).stem
    page.goto(f"{base}/formgrader/gradebook/{LAB}/{notebook}?token={token}")
    page.wait_for_selector("text=Submission #1")
    page.screenshot(path=str(SCREENSHOTS / "formgrader-manual-grading.png"))
    page.get_by_text("Submission #1").click()
    page.wait_for_selector("text=rows and columns are swapped")
    page.screenshot(path=str(SCREENSHOTS / "formgrader-batch-graded-notebook.png"))
    # the written answer, left by the batch for grading by hand: its text is on the page, and the
    # score an instructor types reaches the gradebook
    page.wait_for_selector("text=Two points: one")
    score = page.locator("#why_these_classes")
    score.scroll_into_view_if_needed()
    score.fill("1.5")
    score.press("Tab")
    from nbgrader.api import Gradebook

    for _ in range(100):
        with Gradebook(f"sqlite:///{folder / 'gradebook.db'}") as gradebook:
            grade = gradebook.find_grade("why_these_classes", notebook, LAB, "ada")
            manual, needs = grade.manual_score, grade.needs_manual_grade
        if manual is not None:
            break
        time.sleep(0.1)
    page.screenshot(path=str(SCREENSHOTS / "formgrader-written-answer-graded.png"))
    assert (manual, needs) == (1.5, False)
    page.close()


def test_a_feedback_page_shows_its_confusion_matrix(course, browser):
    if not isolation_available():
        pytest.skip("the batch grader's sandbox needs Linux namespaces as root")
    folder, _ = course
    page = _page(browser)
    page.goto((folder / "feedback" / "ada" / LAB / "feedback.html").as_uri())
    image = page.wait_for_selector("img[alt='confusion matrix']")
    assert image.evaluate("node => node.complete && node.naturalWidth > 100")
    text = page.inner_text("body")
    assert "Grade: 15 / 19" in text and "rows and columns are swapped" in text and "def " not in text
    assert "2 of these points are for written answers" in text and "awaits grading by hand" in text
    page.screenshot(path=str(SCREENSHOTS / "feedback-page.png"), full_page=True)
    page.close()
