"""Ends a local Ray cluster's processes when the run that started it dies, however it dies.

``ray.init()`` without an address starts a cluster as the run's children (GCS,
raylet, workers, and the raylet's dashboard and runtime-env agents). A run
stopped normally shuts it down; a run killed with SIGKILL (a preempted machine,
the OOM killer) cannot, and the agents outlive it as orphans. So the run starts
this watcher first: a separate process that keeps the list of the run's
descendants and, once the run is gone (its end of a pipe closes), kills each of
them that is still the same process (same pid and start time).

    python -m evofool.evaluation.ray_reaper RUN_PID  # stdin: a pipe from the run
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
from pathlib import Path

POLL_SECONDS = 0.5  # how often the descendants are listed (a new actor joins within this)


_REAPER: subprocess.Popen | None = None  # one per process, for as long as it lives


def start_reaper() -> None:
    """Start the watcher of this process's Ray descendants, once per process. It lives as
    long as this process: its stdin is a pipe only this process's end closes."""
    global _REAPER
    if not Path("/proc/self/stat").exists():  # it reads the process table from Linux's /proc
        return
    if _REAPER is None or _REAPER.poll() is not None:
        _REAPER = subprocess.Popen(
            [sys.executable, "-m", "evofool.evaluation.ray_reaper", str(os.getpid())],
            stdin=subprocess.PIPE, start_new_session=True)  # Ctrl-C to the run spares it


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) from /proc, or None for a process gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (name)", which may hold spaces
    return int(fields[1]), int(fields[19])


def _names_ray(pid: int) -> bool:
    try:
        return b"ray" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def ray_descendants(pid: int) -> dict[int, int]:
    """The processes below ``pid`` whose command line names Ray, with their start times."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = stat
    below, frontier = {}, [pid]
    while frontier:
        parent = frontier.pop()
        for child, (ppid, started) in parents.items():
            if ppid == parent and child not in below:
                below[child] = started
                frontier.append(child)
    return {child: started for child, started in below.items() if _names_ray(child)}


def _kill(processes: dict[int, int]) -> None:
    for pid, started in processes.items():
        stat = _stat(pid)
        if stat is not None and stat[1] == started:  # not a new process under a reused pid
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def watch(run_pid: int) -> None:
    """Until stdin closes (the run ended, by exit or kill), note the run's descendants;
    then kill the ones still alive. Only processes whose command line names Ray are
    noted: whatever else the run started is not the watcher's to end."""
    known: dict[int, int] = {}
    while True:
        known.update(ray_descendants(run_pid))
        readable, _, _ = select.select([sys.stdin], [], [], POLL_SECONDS)
        if readable and not os.read(sys.stdin.fileno(), 4096):
            break
    _kill({pid: started for pid, started in known.items() if pid != os.getpid()})


if __name__ == "__main__":
    watch(int(sys.argv[1]))
