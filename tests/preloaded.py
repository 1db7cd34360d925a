"""``python ARGS`` without the interpreter's first two seconds: a process forked from a server
that has imported what the suite's scripts import (torch, ONNX Runtime, evofool, and through
evofool's shim torchvision, timm and pytorch-ood).

A new interpreter spends about 2 s of CPU importing them, as much as many a smoke run's or a
documentation block's own work. Forked from the preloaded server, each runs as
``python SCRIPT ARGS``, ``python -m MODULE ARGS`` or ``python -c CODE`` would, in a process
of its own with its own working directory and environment, from that point on. (Tests of
what only a fresh interpreter shows, its first numerics or a signal's effect, start one.)
"""

import multiprocessing
import os
import runpy
import subprocess
import sys
from pathlib import Path

import torch

PRELOAD = ["numpy", "torch", "onnxruntime", "evofool.api", "evofool.cli.main", "vision_preload",
           "preloaded"]
_FORKSERVER = multiprocessing.get_context("forkserver")
_FORKSERVER.set_forkserver_preload(PRELOAD)


def run_python(args: list[str], workdir: Path, env: dict[str, str], output: Path, *,
               timeout: float = 600, idle_priority: bool = False
               ) -> subprocess.CompletedProcess:
    """``python ARGS`` (a script and its arguments, ``-m MODULE ...`` or ``-c CODE``) in
    ``workdir`` with ``env``, forked from the preloaded server, its stdout and stderr
    written to files in ``output``; at idle CPU priority (SCHED_IDLE: it runs only where
    nothing else would) where asked: its exit code and output."""
    output.mkdir(parents=True, exist_ok=True)
    process = _FORKSERVER.Process(target=_main,
                                  args=(args, workdir, env, output, idle_priority))
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
    streams = [(output / name).read_text(errors="replace") for name in ("stdout", "stderr")]
    return subprocess.CompletedProcess([sys.executable, *args], process.exitcode, *streams)


def _main(args: list[str], workdir: Path, env: dict[str, str], output: Path,
          idle_priority: bool) -> None:
    """What ``python ARGS`` does, in this (forked) process."""
    if idle_priority:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    os.chdir(workdir)
    os.environ.clear()
    os.environ.update(env)
    torch.set_num_threads(int(env.get("OMP_NUM_THREADS", torch.get_num_threads())))
    for name, stream in (("stdout", 1), ("stderr", 2)):
        os.dup2(os.open(output / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), stream)
    if args[0] == "-c":
        sys.argv = ["-c", *args[2:]]
        sys.path.insert(0, "")
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__"})
    elif args[0] == "-m":
        sys.argv = [args[1], *args[2:]]
        sys.path.insert(0, os.getcwd())
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
    else:
        sys.argv = list(args)
        sys.path.insert(0, str(Path(args[0]).parent))  # as for a script: its helpers
        runpy.run_path(args[0], run_name="__main__")
