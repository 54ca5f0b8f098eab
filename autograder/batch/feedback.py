"""Per-student HTML feedback: each check's name, points and message, the confusion
matrix and F1 against the threshold, and why a run failed. Never the source of a check."""

import html
from pathlib import Path

from autograder.batch.store import write_atomically

STYLE = ("body{font-family:sans-serif;max-width:60em;margin:2em auto}table{border-collapse:collapse}"
         "td,th{border:1px solid #ccc;padding:.3em .6em}.pass{color:#060}.fail{color:#a00}"
         ".cm td{text-align:right;font-family:monospace}")


def render(result: dict) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(check['id'])}</td><td>{check['points']:g} / {check['max_points']:g}</td>"
        f"<td class={'pass' if check['points'] else 'fail'}>{e(check['message'])}</td></tr>"
        for check in result["checks"])
    reasons = "".join(f"<li>{e(reason)}</li>" for reason in result["reasons"]) or "<li>none</li>"
    report = result.get("report") or {}
    metric = ""
    if "macro_f1" in report:
        verdict = "reaches" if report["macro_f1"] >= report["threshold"] else "is below"
        names = report.get("class_names", [])
        header = "".join(f"<th>{e(str(name))}</th>" for name in names)
        body = "".join(f"<tr><th>{e(str(name))}</th>" + "".join(f"<td>{value}</td>" for value in row) + "</tr>"
                       for name, row in zip(names, report["confusion_matrix"]))
        metric = (f"<h2>Quality</h2><p>Macro-F1 {report['macro_f1']:.4f} {verdict} the threshold "
                  f"{report['threshold']:.4f}, on {e(report.get('data', ''))}.</p>"
                  f"<table class=cm><tr><th>true \\ predicted</th>{header}</tr>{body}</table>")
    return (f"<!doctype html><meta charset=utf-8><title>{e(result['lab'])}: {e(result['student'])}</title>"
            f"<style>{STYLE}</style><h1>{e(result['lab'])} &mdash; {e(result['student'])}</h1>"
            f"<p><b>{result['score']:g} / {result['max_score']:g}</b> points. Status: <b>{e(result['status'])}</b></p>"
            f"<h2>What the grader noticed</h2><ul>{reasons}</ul>"
            f"<h2>Checks</h2><table><tr><th>check</th><th>points</th><th>result</th></tr>{rows}</table>{metric}")


def write_feedback(course: Path, result: dict) -> Path:
    path = course / "feedback" / result["student"] / result["lab"] / "feedback.html"
    write_atomically(path, render(result))
    return path
