"""Which submissions of a lab share code: a ranked report, the matching code side by side.

    python -m autograder.similarity 02-fashion-mnist-cnn                 # submitted/*/02-.../
    python -m autograder.similarity 02-fashion-mnist-cnn --top 30 --threshold 0.6

Only what a student wrote is compared: the answer cells and the code cells they added,
never the released notebook's given code, and the starter code of the answer cells (the
stubs and signatures) is discounted as boilerplate. Each student's code is tokenised and
fingerprinted by copydetect (names, strings and numbers become placeholders, so renaming
variables does not hide a copy; winnowed k-grams). Every pair is then scored at once, as a
sparse matrix product: the share of one student's fingerprints that the other's code also
has. The report ranks the pairs above the threshold and shows, for each, both students'
code with the shared parts highlighted. It informs the instructor and changes no grade.
"""

import argparse
import html
import io
import sys
import time
from pathlib import Path

import numpy as np

from autograder.batch.artifacts import ArtifactError, read_regular
from autograder.batch.assemble import UnreadableNotebook, _grade_id, _source, read_submission

NOISE, GUARANTEE = 25, 30  # copydetect's k-gram length and winnowing guarantee, in filtered characters


def released_cells(release: Path) -> tuple:
    """(grade_ids of the answer cells, their starter code) of the released notebook."""
    content = read_submission(release.read_bytes())
    answers = [cell for cell in content["cells"] if isinstance(cell, dict)
               and (cell.get("metadata") or {}).get("nbgrader", {}).get("solution")]
    return [_grade_id(cell) for cell in answers], "\n\n".join(_source(cell) or "" for cell in answers)


def student_code(notebook: Path, answer_ids: list) -> str:
    """The answer cells and added code cells of one submission, as one Python text."""
    try:
        content = read_submission(read_regular(notebook, 64 << 20))
    except (ArtifactError, UnreadableNotebook):
        return ""
    parts = []
    for cell in content["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        grade_id = _grade_id(cell)
        if grade_id is None or grade_id in answer_ids:
            parts.append(_source(cell) or "")
    return "\n\n".join(parts)


def fingerprint(name: str, code: str, boilerplate=None):
    """copydetect's fingerprint of ``code`` (as Python), without the boilerplate's hashes."""
    from copydetect import CodeFingerprint

    return CodeFingerprint(f"{name}.py", NOISE, GUARANTEE - NOISE + 1, boilerplate=boilerplate,
                           fp=io.StringIO(code))


def pair_scores(prints: list) -> np.ndarray:
    """(n, n) share of row i's fingerprints that column j also has (0 on the diagonal)."""
    from scipy import sparse

    vocabulary = {}
    rows, columns = [], []
    for row, item in enumerate(prints):
        for value in item.hashes:
            rows.append(row)
            columns.append(vocabulary.setdefault(value, len(vocabulary)))
    matrix = sparse.csr_matrix((np.ones(len(rows)), (rows, columns)), shape=(len(prints), max(len(vocabulary), 1)))
    shared = (matrix @ matrix.T).toarray()
    sizes = np.maximum(np.asarray(matrix.sum(axis=1)).ravel(), 1)
    scores = shared / sizes[:, None]
    np.fill_diagonal(scores, 0.0)
    return scores


def ranked_pairs(names: list, scores: np.ndarray, threshold: float, top: int) -> list:
    """[(score, i, j)] of the pairs whose larger share reaches ``threshold``, best first."""
    both = np.maximum(scores, scores.T)
    first, second = np.triu_indices(len(names), k=1)
    order = np.argsort(-both[first, second], kind="stable")
    return [(float(both[first[k], second[k]]), int(first[k]), int(second[k])) for k in order
            if both[first[k], second[k]] >= threshold][:top]


STYLE = ("body{font-family:sans-serif;max-width:90em;margin:2em auto;color:#222}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top}pre{margin:0;font-size:.8em;"
         "white-space:pre-wrap}.shared{background:#fde68a}.pair{display:grid;grid-template-columns:1fr 1fr;gap:1em}"
         "h3{margin-top:2em}")


def render(lab: str, names: list, prints: list, pairs: list, seconds: float, threshold: float) -> str:
    from copydetect.detector import compare_files
    from copydetect.utils import highlight_overlap

    e = html.escape
    rows, sections = [], []
    for rank, (score, i, j) in enumerate(pairs, start=1):
        _, (share_i, share_j), (slices_i, slices_j) = compare_files(prints[i], prints[j])
        rows.append(f"<tr><td>{rank}</td><td><a href='#pair{rank}'>{e(names[i])} &amp; {e(names[j])}</a></td>"
                    f"<td>{score:.0%}</td><td>{share_i:.0%} / {share_j:.0%}</td></tr>")
        code_i, _ = highlight_overlap(prints[i].raw_code, slices_i, "<span class=shared>", "</span>", escape_html=True)
        code_j, _ = highlight_overlap(prints[j].raw_code, slices_j, "<span class=shared>", "</span>", escape_html=True)
        sections.append(f"<h3 id='pair{rank}'>{rank}. {e(names[i])} &amp; {e(names[j])}: {score:.0%}</h3>"
                        f"<div class=pair><div><b>{e(names[i])}</b><pre>{code_i}</pre></div>"
                        f"<div><b>{e(names[j])}</b><pre>{code_j}</pre></div></div>")
    table = ("<table><tr><th>#</th><th>students</th><th>similarity</th><th>share of each one's code</th></tr>"
             + "".join(rows) + "</table>") if rows else "<p>No pair reaches the threshold.</p>"
    return (f"<!doctype html><meta charset=utf-8><title>Similarity: {e(lab)}</title><style>{STYLE}</style>"
            f"<h1>Similar submissions: {e(lab)}</h1>"
            f"<p>{len(names)} submissions, {len(names) * (len(names) - 1) // 2} pairs compared in {seconds:.2f} s. "
            f"Listed: pairs where at least {threshold:.0%} of one student's code (answer cells and added cells, "
            f"starter code discounted; names, strings and numbers ignored) also appears in the other's. "
            f"Highlighted: the shared code. This report changes no grade; similar code can have innocent "
            f"causes (short exercises, the lecture's own example), so read it before acting on it.</p>"
            f"{table}{''.join(sections)}")


def similarity_report(course: Path, lab: str, release: Path, out: Path, threshold: float = 0.5,
                      top: int = 50) -> dict:
    """Compare every pair of ``course/submitted/*/<lab>/`` and write the HTML report to ``out``.

    Returns:
        {"submissions", "pairs_listed", "seconds", "path"}.
    """
    started = time.perf_counter()
    answer_ids, starter = released_cells(release)
    boilerplate = np.array(sorted(fingerprint("starter", starter).hashes), dtype=np.int64)
    names, prints = [], []
    for folder in sorted(path for path in (course / "submitted").glob(f"*/{lab}") if path.is_dir()):
        notebooks = sorted(folder.glob("*.ipynb"))
        chosen = folder / release.name if (folder / release.name) in notebooks else (notebooks[0] if notebooks else None)
        code = student_code(chosen, answer_ids) if chosen else ""
        names.append(folder.parent.name)
        prints.append(fingerprint(folder.parent.name, code, boilerplate))
    pairs = ranked_pairs(names, pair_scores(prints), threshold, top) if len(names) > 1 else []
    seconds = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(lab, names, prints, pairs, seconds, threshold))
    return {"submissions": len(names), "pairs_listed": len(pairs), "seconds": round(seconds, 2), "path": str(out)}


def main(argv=None) -> int:
    from autograder import labs
    from autograder.grade import REPO

    parser = argparse.ArgumentParser(prog="python -m autograder.similarity", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lab", help="the lab, e.g. 02-fashion-mnist-cnn")
    parser.add_argument("--course", type=Path, default=REPO, help="nbgrader course folder (default: this repo)")
    parser.add_argument("--out", type=Path, help="the report (default <course>/similarity-<lab>.html)")
    parser.add_argument("--threshold", type=float, default=0.5,
                        help="list pairs where at least this share of one student's code is in the other's (0.5)")
    parser.add_argument("--top", type=int, default=50, help="list at most this many pairs (50)")
    args = parser.parse_args(argv)
    try:
        labs.folder(args.lab)
    except labs.UnknownLab as error:
        parser.error(str(error))
    releases = sorted((REPO / "labs" / args.lab).glob("*.ipynb"))
    if not releases:
        parser.error(f"no released notebook in labs/{args.lab}/; run `make build`")
    out = args.out or args.course / f"similarity-{args.lab}.html"
    summary = similarity_report(args.course.resolve(), args.lab, releases[0], out, args.threshold, args.top)
    print(f"{summary['submissions']} submissions compared in {summary['seconds']} s; "
          f"{summary['pairs_listed']} pairs listed in {summary['path']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
