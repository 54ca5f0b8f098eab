"""Per-student HTML feedback, the same for every lab.

For each graded exercise: its title (the first line of its declaration's docstring), its
points and what the grader found. Where an exercise's judge returned a report with a
score and a threshold, the score is shown against it; where the report has a confusion
matrix, it is drawn as a shaded image. A run that did not end normally is explained in
plain words. Never the source of a check.
"""

import base64
import html
import io
from pathlib import Path

from autograder.batch.store import write_atomically

STYLE = ("body{font-family:sans-serif;max-width:62em;margin:2em auto;line-height:1.4;color:#222}"
         "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.35em .7em;vertical-align:top}"
         ".pass{color:#060}.fail{color:#a00;white-space:pre-wrap}.grade{font-size:1.4em}.run{color:#555}"
         "img{max-width:100%}.id{color:#777;font-family:monospace;font-size:.85em}"
         ".pending{color:#725c00}blockquote{white-space:pre-wrap;color:#333;border-left:3px solid #ccc;"
         "margin:.5em 0;padding-left:.7em}")

RUN_WORDS = {  # status -> how the run went, in words that cannot be read as the grade
    "ok": "Your notebook ran to the end.",
    "timeout": "Part of your notebook ran too long and was stopped.",
    "out-of-memory": "Your notebook ran out of memory.",
    "kernel-died": "Your notebook's Python process stopped before the end.",
    "output-too-large": "Your notebook wrote more data than allowed.",
    "cpu-limit": "Your notebook used more CPU time than allowed.",
    "invalid-notebook": "The submitted file could not be read as a notebook.",
    "tampered": "Your notebook ran to the end; edits to locked or test cells were undone first.",
    "restructured": "Your notebook ran to the end; cells that were moved, deleted or duplicated were restored first.",
    "tests-never-ran": "Some test cells never ran.",
    "unanswered": "No answer cell was changed, so the notebook was not run.",
    "missing": "No notebook was submitted.",
    "grader-error": "The grader failed on this submission; your instructor will look at it.",
}


def confusion_image(matrix, class_names) -> str:
    """A shaded confusion matrix (rows true, columns predicted) as a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    matrix = np.asarray(matrix)
    figure, axes = plt.subplots(figsize=(5.5, 4.8), dpi=90)
    axes.imshow(matrix, cmap="Blues")
    ticks = range(len(matrix))
    axes.set_xticks(ticks, [str(name) for name in class_names][:len(matrix)], rotation=45, ha="right")
    axes.set_yticks(ticks, [str(name) for name in class_names][:len(matrix)])
    axes.set_xlabel("predicted class")
    axes.set_ylabel("true class")
    for (row, column), value in np.ndenumerate(matrix):
        axes.text(column, row, str(value), ha="center", va="center", fontsize=7,
                  color="white" if value > matrix.max() / 2 else "black")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def render_report(report: dict) -> str:
    e = html.escape
    parts = []
    if "score" in report and "threshold" in report:
        reached = report["score"] >= report["threshold"]
        note = " (provisional threshold)" if report.get("provisional") else ""
        parts.append(f"<p>{e(str(report.get('metric', 'score')))} <b>{report['score']:.4f}</b> "
                     f"{'reaches' if reached else 'is below'} the threshold {report['threshold']:.4f}{note}"
                     f"{', on ' + e(str(report['data'])) if report.get('data') else ''}.</p>")
    if "confusion_matrix" in report:
        names = report.get("class_names") or [str(k) for k in range(len(report["confusion_matrix"]))]
        parts.append(f"<img alt='confusion matrix' src='{confusion_image(report['confusion_matrix'], names)}'>")
    return "".join(parts)


def render(result: dict) -> str:
    e = html.escape
    reports = result.get("reports") or {}
    rows = []
    for check in result["checks"]:
        passed = check["points"] > 0 or check["max_points"] == 0
        title = check.get("title") or check["id"]
        detail = render_report(reports.get(check["id"], {}))
        if check.get("pending"):
            rows.append(f"<tr><td>{e(title)} <span class=id>({e(check['id'])})</span></td>"
                        f"<td>? / {check['max_points']:g}</td>"
                        f"<td class=pending>{e(check['message'])}<blockquote>{e(check.get('answer', ''))}"
                        f"</blockquote></td></tr>")
            continue
        rows.append(f"<tr><td>{e(title)} <span class=id>({e(check['id'])})</span></td>"
                    f"<td>{check['points']:g} / {check['max_points']:g}</td>"
                    f"<td class={'pass' if passed else 'fail'}>{e(check['message'])}{detail}</td></tr>")
    reasons = "".join(f"<li>{e(reason)}</li>" for reason in result["reasons"])
    run = RUN_WORDS.get(result["status"], result["status"])
    return (f"<!doctype html><meta charset=utf-8><title>{e(result['lab'])}: {e(result['student'])}</title>"
            f"<style>{STYLE}</style><h1>{e(result['lab'])} &mdash; {e(result['student'])}</h1>"
            f"<p class=grade>Grade: <b>{result['score']:g} / {result['max_score']:g}</b> points</p>"
            + (f"<p class=pending>{result['pending_points']:g} of these points are for written answers that "
               f"your instructor grades by hand; they are not counted yet.</p>"
               if result.get("pending_points") else "") +
            f"<p class=run>{e(run)}</p>" + (f"<ul>{reasons}</ul>" if reasons else "") +
            f"<h2>Exercises</h2><table><tr><th>exercise</th><th>points</th><th>what the grader found</th></tr>"
            f"{''.join(rows)}</table>")


def write_feedback(course: Path, result: dict) -> Path:
    path = course / "feedback" / result["student"] / result["lab"] / "feedback.html"
    write_atomically(path, render(result))
    return path
