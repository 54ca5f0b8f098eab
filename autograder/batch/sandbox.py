"""Run one notebook in a sandbox: its own folder, its own user, no network, hard limits.

On Linux as root (the grading machines), a notebook runs inside fresh mount, PID and
network namespaces (``unshare``):

- the course, the repository, the home folder and ``/tmp`` are covered by empty
  ``tmpfs`` mounts, so other submissions, the gradebook, the solutions, the hidden
  checks and the git history cannot be read or written; only the Python installation,
  the virtual environment, the student kit (``coursekit``) and the data cache are
  mounted back, read-only for the sandbox user;
- the notebook's own folder is the only writable place;
- the process runs as an unprivileged user of its own (uid ``SANDBOX_UID_BASE + slot``)
  with no capabilities and ``no_new_privs``;
- the network namespace has only a loopback of its own (the kernel talks to its runner
  over it): no route to any host, not even to the grading machine's own services;
- ``prlimit`` caps address space (memory), CPU seconds, processes and file size, and the
  caller kills the whole PID namespace at the wall-time limit.

Elsewhere (macOS, non-root Linux) only the per-process limits and the wall-time limit
apply; ``isolation_available()`` says which, and the batch grader prints it.
"""

import dataclasses
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

SANDBOX_UID_BASE = 61000
REPO = Path(__file__).resolve().parents[2]


@dataclasses.dataclass(frozen=True)
class Limits:
    """Per-submission limits. Sizes in bytes, times in seconds."""

    memory: int = 6 << 30
    cpu_seconds: int = 1800
    wall_seconds: int = 900
    cell_seconds: int = 600
    processes: int = 512
    file_size: int = 256 << 20


@dataclasses.dataclass
class RunResult:
    """What came out of the sandbox."""

    returncode: int
    wall_seconds: float
    timed_out: bool
    log: str          # tail of the runner's stdout+stderr
    executed: Path | None  # the executed notebook, if written


def isolation_available() -> bool:
    """True where namespaces, a private user and mounts can be used (Linux, root)."""
    return sys.platform.startswith("linux") and os.geteuid() == 0 and bool(shutil.which("unshare")) \
        and bool(shutil.which("setpriv"))


def _kept_paths() -> list:
    """Folders the notebook needs to see: Python, the venv, the student kit, the Keras cache."""
    import coursekit

    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    kept = [Path(sys.base_prefix), Path(sys.prefix), Path(coursekit.__file__).resolve().parent]
    if keras_home.is_dir():
        kept.append(keras_home)
    return [path.resolve() for path in dict.fromkeys(kept)]


def _hidden_paths(course: Path) -> list:
    """Folders to cover, outermost only (a folder inside another is covered with it)."""
    candidates = {REPO, course.resolve(), Path.home().resolve(), Path("/tmp").resolve()}
    return sorted(path for path in candidates
                  if not any(other != path and other in path.parents for other in candidates))


def isolation_script(work: Path, course: Path, command: list, uid: int, limits: Limits) -> str:
    """The shell script run as root inside the new namespaces, ending in ``exec`` of the runner."""
    q = shlex.quote
    lines = ["set -e", "mkdir -p /run/sandbox /run/keep", f"mount --bind {q(str(work))} /run/sandbox"]
    kept = _kept_paths()
    for index, path in enumerate(kept):
        lines += [f"mkdir -p /run/keep/{index}", f"mount --bind {q(str(path))} /run/keep/{index}"]
    for path in _hidden_paths(course):
        lines.append(f"mount -t tmpfs -o size=1m,mode=755 tmpfs {q(str(path))}")
    for index, path in enumerate(kept):
        lines += [f"mkdir -p {q(str(path))}", f"mount --bind -o ro /run/keep/{index} {q(str(path))}",
                  f"mount -o remount,bind,ro {q(str(path))} 2>/dev/null || true"]
    lines += ["umount -l /run/keep/* 2>/dev/null || true", "ip link set lo up",
              "cd /run/sandbox"]
    runner = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
              "--bounding-set=-all", "--inh-caps=-all", *_prlimit(limits), *command]
    lines.append("exec " + " ".join(q(part) for part in runner))
    return "\n".join(lines)


def _prlimit(limits: Limits) -> list:
    return ["prlimit", f"--as={limits.memory}", f"--cpu={limits.cpu_seconds}",
            f"--nproc={limits.processes}", f"--fsize={limits.file_size}", "--"]


# Runs inside the sandbox as ``python -c RUNNER notebook executed cell_seconds``: the repo
# is hidden there, so the runner travels as source. It is nbclient without nbconvert's
# exporters (1.5 s less start-up per submission). A cell past its time limit is
# interrupted and marked (metadata ``grader_timed_out``), and the later cells still run,
# as in plain nbgrader. The executed notebook is written even when the kernel dies.
RUNNER = r"""
import sys
import nbformat
from nbclient import NotebookClient

source, target, cell_seconds = sys.argv[1], sys.argv[2], int(sys.argv[3])
notebook = nbformat.read(source, as_version=4)


class Client(NotebookClient):
    async def _async_handle_timeout(self, timeout, cell=None):
        if cell is not None:
            cell.metadata["grader_timed_out"] = True
        return await super()._async_handle_timeout(timeout, cell)


client = Client(
    notebook, timeout=cell_seconds, allow_errors=True, interrupt_on_timeout=True,
    error_on_timeout={"ename": "CellTimeoutError", "evalue": f"the cell ran longer than {cell_seconds} s",
                      "traceback": [f"CellTimeoutError: the cell ran longer than {cell_seconds} s"]},
    resources={"metadata": {"path": "."}})
failure = None
try:
    client.execute()
except BaseException as error:
    failure = error
    print(f"{type(error).__name__}: {error}"[:2000], flush=True)
finally:
    nbformat.write(notebook, target)
sys.exit(1 if failure else 0)
"""


def _runner_command(notebook_name: str, limits: Limits) -> list:
    return [sys.executable, "-c", RUNNER, notebook_name, "executed.ipynb", str(limits.cell_seconds)]


def sandbox_environment(home: str, extra: dict | None = None) -> dict:
    """A small, explicit environment: nothing of the grader's leaks in."""
    import coursekit

    environment = {
        "PYTHONPATH": str(Path(coursekit.__file__).resolve().parent.parent),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home, "JUPYTER_RUNTIME_DIR": f"{home}/.runtime", "IPYTHONDIR": f"{home}/.ipython",
        "MPLCONFIGDIR": f"{home}/.matplotlib", "MPLBACKEND": "Agg", "TF_CPP_MIN_LOG_LEVEL": "3",
        "PYTHONWARNINGS": "ignore", "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1",
        "KERAS_HOME": str(Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).resolve()),
    }
    for name in ("COURSE_DATA", "COURSE_BUDGET", "COURSE_DATA_MIRROR"):
        if name in os.environ:
            environment[name] = os.environ[name]
    environment.update(extra or {})
    return environment


def run_notebook(work: Path, notebook_name: str, course: Path, limits: Limits, slot: int = 0) -> RunResult:
    """Execute ``work/notebook_name`` in the sandbox; the executed copy lands in ``work``.

    ``work`` must contain only what the student may see (the notebook). ``slot`` picks
    the sandbox user, so parallel submissions never share a uid.
    """
    uid = SANDBOX_UID_BASE + slot
    isolated = isolation_available()
    if isolated:
        os.chown(work, uid, uid)
        for path in work.iterdir():
            os.chown(path, uid, uid)
        script = isolation_script(work, course, _runner_command(notebook_name, limits), uid, limits)
        command = ["unshare", "--mount", "--net", "--pid", "--fork", "--mount-proc", "--", "sh", "-c", script]
        environment = sandbox_environment("/run/sandbox")
        cwd = "/"
    else:
        command = [*_prlimit(limits), *_runner_command(notebook_name, limits)] if shutil.which("prlimit") \
            else _runner_command(notebook_name, limits)
        environment = sandbox_environment(str(work))
        cwd = str(work)
    # The runner's and the kernel's own output go to a file outside the sandbox's folder,
    # under the file-size limit, not to a pipe that would fill the grader's memory.
    log_path = work.parent / f"{work.name}.log"
    started = time.perf_counter()
    with open(log_path, "wb") as log:
        process = subprocess.Popen(command, cwd=cwd, env=environment, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        timed_out = False
        try:
            process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, 9)
            process.wait()
    seconds = time.perf_counter() - started
    with open(log_path, "rb") as log:
        log.seek(max(0, log_path.stat().st_size - 6000))
        tail = log.read().decode("utf-8", "replace")
    log_path.unlink()
    executed = work / "executed.ipynb"
    return RunResult(process.returncode, seconds, timed_out, tail, executed if executed.exists() else None)
