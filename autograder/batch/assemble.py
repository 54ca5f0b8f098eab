"""Check a submitted notebook against the released one and rebuild it for running.

No student code runs here. The student's answer cells are copied, by nbgrader
``grade_id``, into a fresh copy of the released notebook, so test cells, their order
and every locked cell are always the released ones, whatever the student did to them.
What the student did is recorded as problems, in plain words.
"""

import dataclasses
import json

import nbformat


class UnreadableNotebook(ValueError):
    """The submission is not a notebook this grader can read; the message says why."""


@dataclasses.dataclass
class Assembly:
    """The notebook to run and what was wrong with the submission.

    Attributes:
        notebook: the released notebook with the student's answers in place.
        problems: plain-language findings, e.g. "test cell 'f1' was edited (restored)".
        answered: grade_ids of answer cells the student changed from the stub.
    """

    notebook: nbformat.NotebookNode
    problems: list
    answered: list


def _grade_id(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def read_submission(raw: bytes) -> dict:
    """Parse the bytes of a submission; raise ``UnreadableNotebook`` with the reason."""
    try:
        content = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UnreadableNotebook("the file is not UTF-8 text, so not a notebook")
    except json.JSONDecodeError as error:
        raise UnreadableNotebook(f"the file is not valid notebook JSON ({error.msg} at line {error.lineno})")
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
        raise UnreadableNotebook("the file is JSON but not a notebook (no list of cells)")
    if content.get("nbformat") != 4:
        raise UnreadableNotebook(f"the notebook has nbformat {content.get('nbformat')!r}; "
                                 "save it with Jupyter (nbformat 4)")
    return content


def assemble(raw: bytes, released: nbformat.NotebookNode) -> Assembly:
    """Rebuild the submission on the released notebook and list what was wrong."""
    content = read_submission(raw)
    problems, by_id, order = [], {}, []
    for cell in content["cells"]:
        grade_id = _grade_id(cell)
        if grade_id is None:
            continue
        if grade_id in by_id:
            problems.append(f"cell '{grade_id}' appears more than once (the first copy was graded)")
            continue
        by_id[grade_id] = cell
        order.append(grade_id)
    released_ids = [_grade_id(cell) for cell in released.cells]
    missing = [grade_id for grade_id in released_ids if grade_id not in by_id]
    if missing:
        problems.append(f"cells missing from the submission: {', '.join(missing)} (restored from the lab)")
    known = [grade_id for grade_id in order if grade_id in released_ids]
    if known != [grade_id for grade_id in released_ids if grade_id in by_id]:
        problems.append("cells were moved out of their order (the lab's order was restored)")
    notebook = nbformat.from_dict(json.loads(json.dumps(released)))
    answered = []
    for cell in notebook.cells:
        grade_id, nbgrader = _grade_id(cell), cell.metadata.get("nbgrader", {})
        submitted = by_id.get(grade_id)
        if submitted is None:
            continue
        source = submitted.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if nbgrader.get("solution"):
            if source != cell.source:
                answered.append(grade_id)
            cell.source = source
        elif source != cell.source:
            kind = "test cell" if nbgrader.get("grade") else "locked cell"
            problems.append(f"{kind} '{grade_id}' was edited (the lab's version was restored)")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return Assembly(notebook, problems, answered)
