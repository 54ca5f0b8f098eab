"""The text that must never reach a student: solution and hidden-test regions,
and the instructor-side reference code."""

import re
from pathlib import Path

from autograder.labs import is_written_answer

REPO = Path(__file__).resolve().parent.parent
INSTRUCTOR_FILES = ("reference.py", "exercises.py")


def instructor_sources(root: Path = REPO) -> list:
    """Every lab's reference and exercise declarations: instructor side only."""
    return sorted(path for path in (root / "solutions").glob("*/*.py") if path.name in INSTRUCTOR_FILES)


def notebook_sources(root: Path = REPO) -> list:
    """Every lab's notebook script and its built nbgrader source notebook."""
    return sorted([*(path for path in (root / "solutions").glob("*/*.py") if path.name not in INSTRUCTOR_FILES),
                   *(root / "solutions").glob("*/*.ipynb")])
REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.S)


def normalized_lines(text: str) -> list:
    """Stripped lines of a file; for notebook JSON, the source strings unquoted."""
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        quoted = line.rstrip(",")
        if quoted.startswith('"') and quoted.endswith('"'):
            line = quoted[1:-1].replace('\\"', '"').replace("\\n", "").strip()
        lines.append(line)
    return lines


def secret_lines(root: Path = REPO) -> set:
    """Distinctive lines inside solution and hidden-test regions of every solution.

    A line that the public part of any lab also shows (given code) is not secret.
    """
    secret, public = set(), set()
    for script in notebook_sources(root):
        text = normalized_text(script)
        for _, body in REGION.findall(text):
            secret.update(line.strip() for line in body.splitlines()
                          if len(line.strip()) >= 12 and not line.strip().startswith("#"))
        public.update(line.strip() for line in REGION.sub("", text).splitlines())
    return (secret - public) | model_answer_lines(root)


def model_answer_lines(root: Path = REPO) -> set:
    """Lines of the model answers in the written-answer cells (graded by hand) of every solution."""
    import json

    lines = set()
    for notebook in (root / "solutions").glob("*/*.ipynb"):
        for cell in json.loads(notebook.read_text())["cells"]:
            if is_written_answer(cell):
                lines.update(line.strip() for line in "".join(cell["source"]).splitlines() if len(line.strip()) >= 12)
    return lines


def normalized_text(path: Path) -> str:
    """A notebook script as it is; a notebook as its cells' sources, one after another."""
    if path.suffix != ".ipynb":
        return path.read_text()
    import json

    return "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"])


def leaks(text: str, secrets: set) -> list:
    """The secret lines that occur in ``text``."""
    return sorted(set(normalized_lines(text)) & secrets)


def shared_runs(text: str, source: str, length: int = 2) -> list:
    """Runs of ``length`` consecutive non-trivial lines of ``source`` that occur in ``text``."""
    def runs(lines):
        lines = [line for line in lines if len(line) > 8 and not line.startswith(("#", '"""', "import ", "from "))]
        return {tuple(lines[i:i + length]) for i in range(len(lines) - length + 1)}
    return sorted(runs(normalized_lines(text)) & runs(normalized_lines(source)))
