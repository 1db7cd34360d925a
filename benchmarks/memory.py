"""Memory of a long run: RSS of a real ``evofool run`` process over 20,000 MNIST generations.

Starts the CLI on configs/mnist_cppn.yaml (or --config) in a temporary run
directory, samples the process's resident set size every second from
/proc, and reports the samples and the growth after warm-up (the first 10%
of the run): (last - post-warm-up) / post-warm-up; goal < 10%. The last
stdout line is JSON.

    python benchmarks/memory.py [--generations 20000] [--config configs/mnist_cppn.yaml]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=20000)
    parser.add_argument("--config", default=str(Path(__file__).parents[1] / "configs"
                                                / "mnist_cppn.yaml"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = Path(scratch) / "run"
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "evofool", "run", args.config, "--out", str(run_dir),
             "--quiet", "--set", f"generations={args.generations}",
             "--set", "checkpoint.every_generations=1000"])
        samples = []
        while process.poll() is None:
            rss = rss_mib(process.pid)
            if rss is not None:
                samples.append((round(time.monotonic() - started, 1), round(rss, 1)))
            time.sleep(1.0)
        wall = time.monotonic() - started
        summary = json.loads((run_dir / "summary.json").read_text()) \
            if process.returncode == 0 else None
    if not samples or summary is None:
        sys.exit(f"the run failed (exit code {process.returncode})")
    warm = samples[max(1, len(samples) // 10)][1]
    last = samples[-1][1]
    step = max(1, len(samples) // 20)
    print(json.dumps({"benchmark": "memory", "config": args.config,
                      "generations": summary["generations"], "wall_seconds": round(wall, 1),
                      "rss_mib_after_warmup": warm, "rss_mib_last": last,
                      "rss_mib_peak": max(rss for _, rss in samples),
                      "growth_after_warmup": round((last - warm) / warm, 4),
                      "samples": samples[::step]}))


if __name__ == "__main__":
    main()
