"""Per-submission control groups: memory counted by what is resident, a process cap per
sandbox, and a record of whether the memory limit was hit.

Where the machine offers them to root (cgroup v2 with the memory and pids controllers, or
cgroup v1's ``memory`` and ``pids`` hierarchies), each sandbox gets a group of its own,
``course-grader/<name>``, that its first process joins before anything else runs; every
process it starts is in it too. ``Group.available()`` says whether this works here; the
sandbox falls back to ``prlimit`` (address space, processes per uid) where it does not.
"""

import os
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PARENT = "course-grader"


def _v2_root() -> Path | None:
    controllers = ROOT / "cgroup.controllers"
    if controllers.exists() and {"memory", "pids"} <= set(controllers.read_text().split()):
        return ROOT
    return None


def _v1_roots() -> tuple | None:
    memory, pids = ROOT / "memory", ROOT / "pids"
    if (memory / "memory.limit_in_bytes").exists() and (pids / "cgroup.procs").exists():
        return memory, pids
    return None


class Group:
    """One sandbox's control group; ``join_command()`` puts a shell's process into it."""

    def __init__(self, name: str, memory_bytes: int, processes: int):
        self.name, self.memory_bytes, self.processes = name, memory_bytes, processes
        self.folders: list = []

    @staticmethod
    def available() -> bool:
        if os.geteuid() != 0:
            return False
        try:
            return bool(_v2_root() or _v1_roots())
        except OSError:
            return False

    def create(self) -> "Group":
        v2 = _v2_root()
        if v2 is not None:
            parent = v2 / PARENT
            parent.mkdir(exist_ok=True)
            (v2 / "cgroup.subtree_control").write_text("+memory +pids")
            (parent / "cgroup.subtree_control").write_text("+memory +pids")
            folder = parent / self.name
            folder.mkdir(exist_ok=True)
            (folder / "memory.max").write_text(str(self.memory_bytes))
            (folder / "memory.swap.max").write_text("0") if (folder / "memory.swap.max").exists() else None
            (folder / "pids.max").write_text(str(self.processes))
            self.folders = [folder]
        else:
            memory, pids = _v1_roots()
            memory_folder, pids_folder = memory / PARENT / self.name, pids / PARENT / self.name
            memory_folder.mkdir(parents=True, exist_ok=True)
            pids_folder.mkdir(parents=True, exist_ok=True)
            (memory_folder / "memory.limit_in_bytes").write_text(str(self.memory_bytes))
            swap = memory_folder / "memory.memsw.limit_in_bytes"
            if swap.exists():
                swap.write_text(str(self.memory_bytes))
            (pids_folder / "pids.max").write_text(str(self.processes))
            self.folders = [memory_folder, pids_folder]
        return self

    def join_command(self) -> str:
        """Shell text that moves the running shell (``$$``) into every folder of the group."""
        return "; ".join(f"echo $$ > {folder / 'cgroup.procs'}" for folder in self.folders)

    def out_of_memory(self) -> bool:
        """Whether the memory limit killed or starved a process of the group."""
        for folder in self.folders:
            for name in ("memory.events", "memory.oom_control"):
                path = folder / name
                if path.exists():
                    fields = dict(line.split() for line in path.read_text().splitlines() if len(line.split()) == 2)
                    if int(fields.get("oom_kill", 0)) > 0 or int(fields.get("max", 0)) > 0:
                        return True
            failures = folder / "memory.failcnt"
            if failures.exists() and int(failures.read_text()) > 0:
                return True
        return False

    def peak_memory(self) -> int | None:
        """The most memory the group's processes held at once, in bytes, where recorded."""
        for folder in self.folders:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                if (folder / name).exists():
                    return int((folder / name).read_text())
        return None

    def destroy(self) -> None:
        """Kill whatever is left in the group and remove it (waiting up to 20 s for the
        killed processes to be reaped)."""
        for folder in self.folders:
            for _ in range(200):
                procs = (folder / "cgroup.procs").read_text().split() if (folder / "cgroup.procs").exists() else []
                for pid in procs:
                    try:
                        os.kill(int(pid), 9)
                    except (ProcessLookupError, ValueError):
                        pass
                try:
                    folder.rmdir()
                    break
                except OSError:
                    time.sleep(0.1)


def remove_stale(minimum_age: float = 600.0) -> int:
    """Remove this grader family's groups that hold no process and are older than
    ``minimum_age`` seconds (left by a killed grader); return how many were removed.
    Younger empty groups may belong to a sandbox another grader is just starting."""
    removed = 0
    parents = [ROOT / PARENT] if _v2_root() else [root / PARENT for root in (_v1_roots() or ())]
    for parent in parents:
        for folder in parent.glob("*") if parent.is_dir() else []:
            try:
                empty = not (folder / "cgroup.procs").read_text().split()
                if folder.is_dir() and empty and time.time() - folder.stat().st_mtime > minimum_age:
                    folder.rmdir()
                    removed += 1
            except OSError:
                continue
    return removed
