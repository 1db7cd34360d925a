"""How the benchmarks run ``evofool`` commands: in the benchmark's own process, as the
tests do (``evofool.cli.main.run_captured``), so a study of many short runs does not
spend a second or two importing torch in a new process for each; and several at once in
worker processes that each import it once.

Not a benchmark itself (it has no ``__main__``): the studies import it.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

import torch

from evofool.cli.main import run_captured


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run with ``threads`` intra-op threads (None: leave them), restored afterwards."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def evofool(*args: str, who: str, threads: int | None = None) -> str:
    """``evofool ARGS`` in this process; its stdout. A failure ends the benchmark with
    the command's error under the benchmark's name ``who``."""
    with torch_threads(threads):
        result = run_captured(list(args))
    if result.returncode != 0:
        sys.exit(f"{who}: evofool {' '.join(args[:3])} failed: "
                 f"{result.stderr.strip()[-2000:]}")
    return result.stdout


def map_in_processes(function: Callable, items: Iterable, *, processes: int,
                     threads: int) -> list:
    """``[function(item) for item in items]``, ``processes`` at a time, each worker with
    ``threads`` torch threads; with one process, here in this one (``function`` must be
    a module-level function when ``processes`` > 1)."""
    if processes <= 1:
        with torch_threads(threads):
            return [function(item) for item in items]
    context = multiprocessing.get_context("spawn")  # forking a process with torch's
    # thread pools started can hang its children
    with ProcessPoolExecutor(processes, mp_context=context, initializer=torch.set_num_threads,
                             initargs=(threads,)) as pool:
        return list(pool.map(function, items))
