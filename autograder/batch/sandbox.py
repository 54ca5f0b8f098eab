"""Run one notebook in a sandbox: its own root, its own user, no network, hard limits.

On Linux as root (the grading machines), a notebook runs inside fresh mount, PID, IPC,
UTS and network namespaces (``unshare``), in a root built from an allow-list
(``isolation_script``):

- visible, read-only: the system's programs and libraries and ``/etc``, Python, the
  virtual environment, the student kit (``coursekit``) and the Keras data cache, each at
  its own path; nothing else of the machine (no course, no repository, no home folder,
  no other copy of anything);
- writable: the notebook's own folder, and private, size-capped tmpfs for ``/tmp``,
  ``/var/tmp``, ``/dev/shm`` and ``/run/lock``, which vanish with the sandbox, as do its
  SysV IPC objects (own IPC namespace);
- the process runs as an unprivileged user that no other live sandbox on the machine has
  (``sandbox_uid``: a lock file per uid, so two graders never share one), with no
  capabilities and ``no_new_privs``;
- the network namespace has only a loopback of its own: no route to any host;
- limits: where the machine has control groups (``cgroups.py``), memory counted by what is
  resident and a process cap per sandbox; elsewhere ``prlimit`` on address space and
  processes per uid. Always ``prlimit`` on CPU seconds and file size, and the caller kills
  the whole PID namespace at the wall-time limit.

Elsewhere (macOS, non-root Linux) only the per-process limits and the wall-time limit
apply; ``isolation_available()`` says which, and the batch grader prints it.
"""

import contextlib
import dataclasses
import fcntl
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from autograder.batch.cgroups import Group

SANDBOX_UID_BASE = 61000


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
    out_of_memory: bool = False  # the control group's memory limit was hit
    peak_memory: int | None = None  # bytes, where a control group measured it


def isolation_available() -> bool:
    """True where namespaces, a private user and mounts can be used (Linux, root)."""
    return sys.platform.startswith("linux") and os.geteuid() == 0 and bool(shutil.which("unshare")) \
        and bool(shutil.which("setpriv")) and bool(shutil.which("chroot", path="/usr/sbin:/sbin:/usr/bin:/bin"))


SYSTEM_PATHS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc")
DEVICES = ("null", "zero", "full", "random", "urandom")
PRIVATE_TMPFS = {  # every world-writable place a program expects, private to the sandbox
    "/tmp": "size=512m,mode=1777", "/var/tmp": "size=64m,mode=1777", "/dev/shm": "size=256m,mode=1777",
    "/run/lock": "size=1m,mode=1777",
}


def _kept_paths() -> list:
    """What the notebook needs besides the system: Python, the venv, the student kit, the
    Keras cache. The allow-list: nothing else of the machine is visible in the sandbox."""
    import coursekit

    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    kept = [Path(sys.base_prefix), Path(sys.prefix), Path(coursekit.__file__).resolve().parent]
    if keras_home.is_dir():
        kept.append(keras_home)
    resolved = [path.resolve() for path in dict.fromkeys(kept)]
    return [path for path in resolved if not any(str(path).startswith(system + "/") for system in SYSTEM_PATHS)]


def isolation_script(work: Path, root: Path, command: list, uid: int, limits: Limits, cgroup: bool = False) -> str:
    """The shell script run as root inside the new namespaces, ending in ``exec`` of the runner.

    It builds a new root on an empty tmpfs at ``root`` from an allow-list: the system's
    programs and libraries and ``/etc`` read-only, Python, the venv, ``coursekit`` and the
    Keras cache read-only at their own paths, the notebook's folder (``/run/sandbox``)
    read-write, a fresh ``/proc``, a few devices, and private tmpfs for ``/tmp``,
    ``/var/tmp``, ``/dev/shm`` and ``/run/lock``. Then it drops into it (``chroot``) as the
    sandbox user, without capabilities.
    """
    q = shlex.quote
    r = str(root)
    lines = ["set -e", f"mount -t tmpfs -o size=16m,mode=755 tmpfs {q(r)}"]
    for system in SYSTEM_PATHS:
        path = Path(system)
        if path.is_symlink():
            lines.append(f"ln -s {q(os.readlink(path))} {q(r + system)}")
        elif path.is_dir():
            lines += [f"mkdir -p {q(r + system)}", f"mount --rbind {q(system)} {q(r + system)}",
                      f"mount -o remount,bind,ro {q(r + system)}"]
    for path in _kept_paths():
        target = q(r + str(path))
        lines += [f"mkdir -p {target}", f"mount --rbind {q(str(path))} {target}",
                  f"mount -o remount,bind,ro {target}"]
    lines += [f"mkdir -p {q(r + '/run/sandbox')} {q(r + '/proc')} {q(r + '/dev')}",
              f"mount --bind {q(str(work))} {q(r + '/run/sandbox')}",
              f"mount -t proc -o nosuid,nodev,noexec proc {q(r + '/proc')}"]
    for device in DEVICES:
        lines += [f"touch {q(r + '/dev/' + device)}", f"mount --bind /dev/{device} {q(r + '/dev/' + device)}"]
    lines.append(f"ln -s /proc/self/fd {q(r + '/dev/fd')}")
    for path, options in PRIVATE_TMPFS.items():
        lines += [f"mkdir -p {q(r + path)}", f"mount -t tmpfs -o {options},nosuid,nodev tmpfs {q(r + path)}"]
    lines.append("ip link set lo up")
    runner = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--no-new-privs",
              "--bounding-set=-all", "--inh-caps=-all", *_prlimit(limits, cgroup), *command]
    inner = "cd /run/sandbox && exec " + " ".join(q(part) for part in runner)
    chroot = shutil.which("chroot", path="/usr/sbin:/sbin:/usr/bin:/bin") or "chroot"
    lines.append(f"exec {q(chroot)} {q(r)} /bin/sh -c {q(inner)}")
    return "\n".join(lines)


def _prlimit(limits: Limits, cgroup: bool = False) -> list:
    """Per-process limits. With a control group, memory and processes are the group's
    (resident memory, per sandbox); without one, address space and processes per uid."""
    if cgroup:
        return ["prlimit", f"--cpu={limits.cpu_seconds}", f"--fsize={limits.file_size}", "--"]
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


UID_LOCKS = Path("/run/course-grader/uids")


@contextlib.contextmanager
def sandbox_uid():
    """A uid that no other live sandbox on this machine has, whichever grader started it.

    Each uid from ``SANDBOX_UID_BASE`` on has a lock file under ``/run`` (cleared at boot);
    a sandbox holds its uid's lock for as long as it runs.
    """
    UID_LOCKS.mkdir(parents=True, exist_ok=True)
    for uid in range(SANDBOX_UID_BASE, SANDBOX_UID_BASE + 4096):
        handle = open(UID_LOCKS / f"{uid}.lock", "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        try:
            yield uid
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
            handle.close()
        return
    raise RuntimeError(f"all 4096 sandbox uids from {SANDBOX_UID_BASE} are in use")


def run_notebook(work: Path, notebook_name: str, limits: Limits) -> RunResult:
    """Execute ``work/notebook_name`` in the sandbox; the executed copy lands in ``work``.

    ``work`` must contain only what the student may see (the notebook).
    """
    if not isolation_available():
        command = [*_prlimit(limits), *_runner_command(notebook_name, limits)] if shutil.which("prlimit") \
            else _runner_command(notebook_name, limits)
        return _run(command, sandbox_environment(str(work)), str(work), work, limits, None)
    digest = hashlib.sha256(str(work).encode()).hexdigest()[:20]
    root = work.parent / f".root-{digest}"
    root.mkdir(mode=0o700, exist_ok=True)
    group = Group(f"sandbox-{digest}", limits.memory, limits.processes).create() if Group.available() else None
    try:
        with sandbox_uid() as uid:
            os.chown(work, uid, uid)
            for path in work.iterdir():
                os.chown(path, uid, uid)
            script = isolation_script(work, root, _runner_command(notebook_name, limits), uid, limits,
                                      cgroup=group is not None)
            unshare = ["unshare", "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--", "sh", "-c", script]
            command = ["sh", "-c", group.join_command() + '; exec "$@"', "sh", *unshare] if group else unshare
            return _run(command, sandbox_environment("/run/sandbox"), "/", work, limits, group)
    finally:
        if group is not None:
            group.destroy()
        root.rmdir()


def _run(command, environment, cwd, work: Path, limits: Limits, group) -> RunResult:
    # The runner's and the kernel's own output go to a file outside the sandbox's folder,
    # under the file-size limit, not to a pipe that would fill the grader's memory.
    # Named by a digest: a student id may already be as long as a file name can be.
    log_path = work.parent / f"{hashlib.sha256(work.name.encode()).hexdigest()[:20]}.log"
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
    out_of_memory = group is not None and group.out_of_memory()
    return RunResult(process.returncode, seconds, timed_out, tail, executed if executed.exists() else None,
                     out_of_memory, group.peak_memory() if group is not None else None)
