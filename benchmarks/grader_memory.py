"""The batch grader's own memory (not the sandboxes'), on 40 lab-02 submissions.

    python benchmarks/grader_memory.py                      # this checkout
    python benchmarks/grader_memory.py --repo /path/to/other/checkout --label before

The 40 submissions are batch_bench.py's mix (honest, partly correct, broken), with one
honest submission replaced by a hostile one whose saved models declare a Dense layer of
184 million weights in a small file. Every 0.2 s the resident memory of each grader-side
process (the batch's main process, its workers and their judge children: root's
processes in the batch's process tree, not the sandboxes' users) is sampled. Printed: the
peak of the largest single grader process, the peak of their sum, and the wall time.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("COURSE_DATA", "offline")
os.environ.setdefault("COURSE_BUDGET", "smoke")

from autograder.batch.corpus import honest, solution_sources  # noqa: E402
from batch_bench import LAB, submissions  # noqa: E402

FORGE = """
import json as _json, zipfile as _zipfile, keras as _keras
_save = _keras.Model.save
def _forged_save(self, path, *args, **kwargs):
    _save(self, path, *args, **kwargs)
    with _zipfile.ZipFile(path) as _archive:
        _members = {name: _archive.read(name) for name in _archive.namelist()}
    _config = _json.loads(_members["config.json"])
    for _layer in _config["config"]["layers"]:
        if _layer["class_name"] == "Dense" and _layer["config"]["units"] == 128:
            _layer["config"]["units"] = 20000
    _members["config.json"] = _json.dumps(_config)
    with _zipfile.ZipFile(path, "w") as _archive:
        for _name, _data in _members.items():
            _archive.writestr(_name, _data)
_keras.Model.save = _forged_save
"""


def grader_processes(root: psutil.Process) -> list:
    try:
        family = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    return [process for process in family if _uid(process) == 0]


def _uid(process):
    try:
        return process.uids().real
    except psutil.Error:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout whose grader to measure")
    parser.add_argument("--label", default="this checkout")
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args()
    made, _ = submissions(args.count)
    sources = solution_sources(LAB)
    made["student000"] = json.dumps(honest(LAB, **{"cell-03": FORGE + "\n" + sources["cell-03"]})).encode()
    with tempfile.TemporaryDirectory(prefix="grader-memory-") as scratch:
        course = Path(scratch)
        for student, content in made.items():
            folder = course / "submitted" / student / LAB
            folder.mkdir(parents=True)
            (folder / "fashion_mnist_cnn.ipynb").write_bytes(content)
        environment = dict(os.environ, PYTHONPATH=str(args.repo), MPLBACKEND="Agg", TF_CPP_MIN_LOG_LEVEL="3")
        started = time.perf_counter()
        batch = subprocess.Popen([sys.executable, "-m", "autograder.batch", LAB, "--course", str(course),
                                  "--cell-timeout", "60"], cwd=args.repo, env=environment,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        root = psutil.Process(batch.pid)
        peaks = {"single": 0, "sum": 0}

        def sample():
            while batch.poll() is None:
                sizes = []
                for process in grader_processes(root):
                    try:
                        sizes.append(process.memory_info().rss)
                    except psutil.Error:
                        pass
                if sizes:
                    peaks["single"] = max(peaks["single"], max(sizes))
                    peaks["sum"] = max(peaks["sum"], sum(sizes))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        output, _ = batch.communicate()
        sampler.join()
        seconds = time.perf_counter() - started
        status = course / "autograded" / "student000" / LAB / "batch-status.json"
        graded = len(list(course.glob(f"autograded/*/{LAB}/batch-status.json")))
        if status.exists():
            hostile = json.loads(status.read_text())
            verdict = (f"hostile submission {hostile['score']:g}/{hostile['max_score']:g} {hostile['status']}: "
                       f"{[c['message'][:90] for c in hostile['checks'] if not c['points']][:2]}")
        else:
            verdict = "the hostile submission got no status file"
    print("\n".join(output.splitlines()[-6:]))
    print(f"{args.label}: exit code {batch.returncode}, {graded} of {args.count} submissions graded in {seconds:.0f} s; "
          f"largest grader process peaked at {peaks['single'] / (1 << 30):.2f} GiB, all grader processes together at "
          f"{peaks['sum'] / (1 << 30):.2f} GiB; {verdict}")


if __name__ == "__main__":
    main()
