"""One writer per run directory: an OS lock that a killed process gives back.

Two processes writing one run (two ``resume`` at once, a ``resume`` of a live
run, two ``run --out`` into one empty directory) would interleave store rows,
tear ``metrics.csv`` lines and mix two seeds' champions. So every writer holds
an exclusive ``flock`` on ``writer.lock`` in the directory for as long as it
writes. The kernel drops the lock when the process ends, however it ends
(SIGKILL and power loss included): unlike a PID file, a stale lock cannot
outlive its holder. The file's text only names the holder for the message a
second writer gets (a holder that ends normally empties it). Readers (browse,
export, plot, ood, transfer) never take it, so they keep working during a
live run.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO

from evofool.errors import EvofoolError

LOCK_FILE = "writer.lock"


class RunBusyError(EvofoolError):
    """Another process is writing the directory."""


class WriterLock:
    """The exclusive right to write ``directory``, held until ``release`` or process exit."""

    def __init__(self, directory: Path, stream: IO[str]) -> None:
        self.directory = directory
        self._stream: IO[str] | None = stream

    @classmethod
    def acquire(cls, directory: Path) -> WriterLock:
        """Take the lock of an existing ``directory``, without waiting.

        Raises:
            RunBusyError: another process holds it (the message names that process).
            EvofoolError: the directory cannot be written.
        """
        path = Path(directory) / LOCK_FILE
        try:
            stream = open(path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
        except OSError as error:
            raise EvofoolError(f"cannot write in {directory}: "
                               f"{error.strerror or error}") from error
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            stream.seek(0)
            holder = stream.read(500).strip() or "another process"
            stream.close()
            raise RunBusyError(f"{directory} is being written by {holder}; wait for it to "
                               "end (or stop it) before writing this directory") from None
        stream.seek(0)
        stream.truncate()
        stream.write(f"pid {os.getpid()} on {socket.gethostname()} "
                     f"({' '.join(_command())}, since {time.strftime('%Y-%m-%d %H:%M:%S')})\n")
        stream.flush()
        return cls(Path(directory), stream)

    def release(self) -> None:
        """Give the lock back (idempotent), emptying the holder's text first: a writer
        that only looked (a resume of a finished run) leaves the file as it found it."""
        if self._stream is not None:
            with contextlib.suppress(OSError):
                self._stream.truncate(0)
            fcntl.flock(self._stream, fcntl.LOCK_UN)
            self._stream.close()
            self._stream = None


def writer_alive(directory: Path) -> bool:
    """Whether some process holds ``directory``'s writer lock now (read-only probe)."""
    path = Path(directory) / LOCK_FILE
    try:
        with open(path) as stream:
            fcntl.flock(stream, fcntl.LOCK_SH | fcntl.LOCK_NB)
            fcntl.flock(stream, fcntl.LOCK_UN)
    except BlockingIOError:
        return True
    except OSError:  # no lock file: no writer since locks exist
        return False
    return False


def holds_files(directory: Path) -> bool:
    """Whether ``directory`` holds anything but a writer lock (which a writer that failed
    to start may leave behind: such a directory is still free for a new run)."""
    return any(path.name != LOCK_FILE for path in Path(directory).iterdir())


def _command() -> list[str]:
    """What the holder runs, short: ``evofool resume runs/x`` rather than a full argv."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    return [name, *sys.argv[1:3]]
