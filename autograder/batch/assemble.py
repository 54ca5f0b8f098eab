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
        edits: plain-language findings of edits to what the lab fixes (test and locked
            cells, nbgrader metadata, forged cells), e.g. "test cell 'f1' was edited (restored)".
        moves: findings about the notebook's structure (cells deleted, moved, duplicated).
        answered: answer cells the student changed from the stub, and cells they added.
    """

    notebook: nbformat.NotebookNode
    edits: list
    moves: list
    answered: list

    @property
    def problems(self) -> list:
        return self.edits + self.moves

    @property
    def status(self) -> str | None:
        """"tampered", "restructured" or None: what the findings make of an ok run."""
        return "tampered" if self.edits else "restructured" if self.moves else None


NBGRADER_FIELDS = ("grade", "solution", "locked", "points")


def _nbgrader(cell) -> dict:
    """A cell's nbgrader metadata, or {} whatever shape the cell or its metadata has."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    nbgrader = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return nbgrader if isinstance(nbgrader, dict) else {}


def _grade_id(cell):
    grade_id = _nbgrader(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) else None


def _source(cell) -> str | None:
    """A cell's source as text, or None if it is neither a string nor a list of strings."""
    source = cell.get("source", "") if isinstance(cell, dict) else None
    if isinstance(source, list) and all(isinstance(line, str) for line in source):
        return "".join(source)
    return source if isinstance(source, str) else None


def read_submission(raw: bytes) -> dict:
    """Parse the bytes of a submission; raise ``UnreadableNotebook`` with the reason."""
    try:
        content = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UnreadableNotebook("the file is not UTF-8 text, so not a notebook")
    except json.JSONDecodeError as error:
        raise UnreadableNotebook(f"the file is not valid notebook JSON ({error.msg} at line {error.lineno})")
    except RecursionError:
        raise UnreadableNotebook("the notebook's JSON is nested too deeply to be read")
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
        raise UnreadableNotebook("the file is JSON but not a notebook (no list of cells)")
    if content.get("nbformat") != 4:
        raise UnreadableNotebook(f"the notebook has nbformat {content.get('nbformat')!r}; "
                                 "save it with Jupyter (nbformat 4)")
    return content


def _metadata_edits(grade_id: str, submitted: dict, released: dict) -> list:
    """Plain words for each nbgrader field the student changed on a released cell."""
    return [f"the nbgrader {field!r} of cell '{grade_id}' was changed from {released.get(field)!r} to "
            f"{str(submitted.get(field))[:40]!r} (the lab's was used)"
            for field in NBGRADER_FIELDS if field in released or field in submitted
            if submitted.get(field) != released.get(field)]


def assemble(raw: bytes, released: nbformat.NotebookNode) -> Assembly:
    """Rebuild the submission on the released notebook and list what was wrong.

    Answer cells come from the student, by grade_id. So do code cells the student added
    (their own code, as plain nbgrader keeps it): each is placed after the released cell
    it followed. Everything else is the lab's.
    """
    content = read_submission(raw)
    released_ids = [_grade_id(cell) for cell in released.cells]
    edits, moves, by_id, order, added = [], [], {}, [], {}
    anchor = None
    for cell in content["cells"]:
        if not isinstance(cell, dict):
            moves.append("an entry of the notebook's cell list is not a cell (ignored)")
            continue
        grade_id = _grade_id(cell)
        if grade_id is None:
            if cell.get("cell_type") == "code" and _source(cell):
                added.setdefault(anchor, []).append(_source(cell))
            continue
        if grade_id not in released_ids:
            edits.append(f"cell '{grade_id[:60]}' is not part of the lab (ignored)")
            continue
        if grade_id in by_id:
            moves.append(f"cell '{grade_id}' appears more than once (the first copy was graded)")
            continue
        by_id[grade_id] = cell
        order.append(grade_id)
        anchor = grade_id
    missing = [grade_id for grade_id in released_ids if grade_id not in by_id]
    if missing:
        moves.append(f"cells missing from the submission: {', '.join(missing)} (restored from the lab)")
    if order != [grade_id for grade_id in released_ids if grade_id in by_id]:
        moves.append("cells were moved out of their order (the lab's order was restored)")
    notebook = nbformat.from_dict(json.loads(json.dumps(released)))
    answered, cells = [], []
    for cell in notebook.cells:
        grade_id, nbgrader = _grade_id(cell), cell.metadata.get("nbgrader", {})
        cells.append(cell)
        submitted = by_id.get(grade_id)
        if submitted is not None:
            edits += _metadata_edits(grade_id, _nbgrader(submitted), nbgrader)
            source = _source(submitted)
            if source is None:
                edits.append(f"cell '{grade_id}' has no readable source (the lab's version was used)")
                source = cell.source
            if nbgrader.get("solution"):
                if source != cell.source:
                    answered.append(grade_id)
                cell.source = source
            elif source != cell.source:
                kind = "test cell" if nbgrader.get("grade") else "locked cell"
                edits.append(f"{kind} '{grade_id}' was edited (the lab's version was restored)")
        for number, source in enumerate(added.get(grade_id, []), start=1):
            cells.append(nbformat.v4.new_code_cell(source, metadata={"added_by_student": True}))
            answered.append(f"a cell added after '{grade_id}'")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    for source in added.get(None, []):  # added before the first cell of the lab
        cells.insert(0, nbformat.v4.new_code_cell(source, metadata={"added_by_student": True}))
        answered.append("a cell added at the top")
    notebook.cells = cells
    return Assembly(notebook, edits, moves, answered)
