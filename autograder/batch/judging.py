"""Judge a submission's artifacts in a process of its own, with a memory limit and a timeout.

A student's artifacts are hostile input even after they were checked: a model file can
declare layers that take gigabytes to build. So the judges do not run in the grading
worker itself but in a long-lived child process (TensorFlow is imported once per worker,
not once per submission), limited to ``JUDGE_MEMORY`` bytes (a control group where the
machine has them, else ``RLIMIT_AS``) and ``JUDGE_SECONDS`` per submission. If the child
dies or overruns, that submission's checks fail with the reason and a fresh child judges
the next one; the worker, and so the batch, go on.
"""

import atexit
import os
import resource
import socket
import subprocess
import sys
from multiprocessing.connection import Connection

JUDGE_MEMORY = 6 << 30
JUDGE_SECONDS = 600


def serve(descriptor: int, memory: int, cgroup_procs: list) -> None:
    """The child: set its limits, then judge requests until the connection closes."""
    connection = Connection(descriptor)
    for procs in cgroup_procs:
        with open(procs, "w") as stream:
            stream.write(str(os.getpid()))
    if not cgroup_procs:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from autograder.batch.pipeline import judge_all

    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        try:
            connection.send(("ok", judge_all(*request)))
        except MemoryError:
            connection.send(("error", "the grader ran out of memory judging these artifacts"))
        except Exception as error:
            connection.send(("error", f"the grader could not judge these artifacts ({type(error).__name__}: {error})"))


class JudgeProcess:
    """A worker's judge child; ``judge`` restarts it whenever it died or was stopped."""

    def __init__(self, memory: int = JUDGE_MEMORY, seconds: int = JUDGE_SECONDS):
        self.memory, self.seconds = memory, seconds
        self.process, self.connection, self.group = None, None, None

    def _start(self) -> None:
        from autograder.batch.cgroups import Group

        if Group.available():
            self.group = Group(f"judge-{os.getpid()}", self.memory, 4096).create()
        procs = [str(folder / "cgroup.procs") for folder in self.group.folders] if self.group else []
        mine, theirs = socket.socketpair()
        source = (f"from autograder.batch.judging import serve; serve({theirs.fileno()}, {self.memory}, {procs!r})")
        self.process = subprocess.Popen([sys.executable, "-c", source], pass_fds=[theirs.fileno()],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        theirs.close()
        self.connection = Connection(mine.detach())

    def stop(self) -> None:
        if self.connection is not None:
            self.connection.close()
        if self.process is not None:
            self.process.kill()
            self.process.wait()
        if self.group is not None:
            self.group.destroy()
        self.process = self.connection = self.group = None

    def judge(self, lab_id: str, cells: list, private, hashes: dict) -> tuple:
        """(checks, reports) as ``pipeline.judge_all`` gives them, or every cell failed with
        the reason when the judge ran out of memory, crashed or overran its time."""
        if self.process is None or self.process.poll() is not None:
            self.stop()
            self._start()
        try:
            self.connection.send((lab_id, cells, private, hashes))
            if self.connection.poll(self.seconds):
                kind, value = self.connection.recv()
                if kind == "ok":
                    return value
                reason = value
            else:
                reason = f"judging took longer than {self.seconds} s and was stopped"
                self.stop()
        except (EOFError, OSError, BrokenPipeError):
            out_of_memory = self.group is not None and self.group.out_of_memory()
            reason = ("the grader ran out of memory judging these artifacts (a model too large to build?)"
                      if out_of_memory or self.process.wait() in (-9, 137) else
                      f"the grader's judge process died (exit code {self.process.wait()})")
            self.stop()
        checks = [{"id": grade_id, "title": "", "points": 0.0, "max_points": points, "message": reason}
                  for grade_id, points in cells]
        return checks, {}


_judge = None


def judge_in_child(lab_id: str, cells: list, private, hashes: dict) -> tuple:
    """Judge with this worker's own judge process (started on first use)."""
    global _judge
    if _judge is None:
        from multiprocessing import util

        _judge = JudgeProcess()
        util.Finalize(_judge, _judge.stop, exitpriority=10)  # a pool worker's exit skips atexit
        atexit.register(_judge.stop)
    return _judge.judge(lab_id, cells, private, hashes)
