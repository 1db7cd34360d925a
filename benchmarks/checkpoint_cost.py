"""What the default checkpoint interval costs and risks: the share of run time spent
checkpointing, and the most work a SIGKILL can lose.

For each config: a run warms up for ``--warmup`` generations, is resumed for
``--between`` more (about two minutes of an ImageNet run on 2 cores, the
default ``checkpoint.every_seconds``) with only the final checkpoint. Timed:
that final checkpoint (the search state plus the PNGs of champions that changed,
as written every CHAMPION_IMAGES_EVERY_SECONDS) and a periodic one (the state
alone). ``share`` = checkpoint / interval + PNG refresh / its interval;
``worst_loss_s`` = interval + checkpoint seconds (work since the last finished
checkpoint). The last stdout line is the whole result as JSON.

    python benchmarks/checkpoint_cost.py [--warmup 10] [--between 40]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from evaluator import cpu_model

from evofool.run.checkpoints import CheckpointSettings
from evofool.run.config import load_config
from evofool.run.job import EvolutionJob
from evofool.run.recorder import CHAMPION_IMAGES_EVERY_SECONDS

CONFIGS = Path(__file__).parents[1] / "configs"


def measure(config_name: str, warmup: int, between: int, run_dir: Path) -> dict:
    config = load_config(CONFIGS / config_name, ["evaluator.device=cpu",
                                                  f"generations={warmup}"])
    EvolutionJob.start(config, run_dir, progress=False).run()
    job = EvolutionJob.resume(run_dir, [
        f"generations={warmup + between}", "checkpoint.every_seconds=null",
        "checkpoint.every_generations=null"], force=True, progress=False)
    checkpoint_seconds = []
    write = job._checkpoint

    def timed_checkpoint(elapsed: float) -> None:
        started = time.perf_counter()
        write(elapsed)
        checkpoint_seconds.append(time.perf_counter() - started)

    job._checkpoint = timed_checkpoint
    started = time.perf_counter()
    job.run()  # ends with a checkpoint and the champion PNGs that changed
    total = time.perf_counter() - started
    interval = CheckpointSettings().every_seconds
    (with_images,) = checkpoint_seconds
    started = time.perf_counter()
    write(total)  # the same state again, PNGs not due: what a periodic checkpoint costs
    checkpoint = time.perf_counter() - started
    size = sum(path.stat().st_size for path in (run_dir / "checkpoints").glob("*.pt")) / len(
        list((run_dir / "checkpoints").glob("*.pt")))
    return {"config": config_name, "generations_between": between,
            "seconds_per_generation": round((total - with_images) / between, 3),
            "checkpoint_seconds": round(checkpoint, 3),
            "checkpoint_and_png_refresh_seconds": round(with_images, 3),
            "png_refresh_every_s": CHAMPION_IMAGES_EVERY_SECONDS,
            "checkpoint_mb": round(size / 1e6, 2),
            "default_interval_s": interval,
            "share": round(checkpoint / interval + (with_images - checkpoint)
                           / CHAMPION_IMAGES_EVERY_SECONDS, 4),
            "worst_loss_s": round(interval + checkpoint, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--between", type=int, default=40)
    parser.add_argument("--configs", nargs="+", default=["imagenet_cppn.yaml"])
    args = parser.parse_args()
    rows = []
    for name in args.configs:
        with tempfile.TemporaryDirectory() as scratch:
            rows.append(measure(name, args.warmup, args.between, Path(scratch) / "run"))
        print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"benchmark": "checkpoint_cost", "cpu": cpu_model(), "rows": rows}))


if __name__ == "__main__":
    main()
