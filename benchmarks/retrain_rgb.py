"""The n+1 experiment on real RGB images that install from the package index, against MNIST's.

No CIFAR-10 package on the index holds its images (``cifar10``, ``cifar10-web``,
``pure-cifar-10`` and the like download them; see BENCHMARKS.md), so the real RGB
data set here is built from the eight colour photographs scikit-image ships
(astronaut, cat, coffee, Hubble deep field, immunohistochemistry, motorcycle,
retina, rocket): ``--per-class`` random 96 x 96 crops of each, saved as an image
folder (class = photograph; every fifth crop held out for testing). ``evofool train
small-cnn`` fits a small CNN at 32 x 32, and ``evofool retrain`` runs the n+1
experiment on it (the shipped retrain config with ``data``, ``model`` and, so every
round's model trains as long as round 0's, ``training.epochs`` set, plus ``--set``
overrides), both through the real CLI. Prints the per-round table as JSON
(the last stdout line), with each round's share of classes fooled at 0.99 next to
its median best confidence.

    python benchmarks/retrain_rgb.py [--out DIR] [--per-class 300] [--epochs 10]
        [--set rounds=5 ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from evaluator import cpu_model
from PIL import Image

from evofool.archive.confidence import FOOLED_KEY

CONFIG = Path(__file__).parents[1] / "configs" / "mnist_retrain.yaml"
PHOTOGRAPHS = ("astronaut", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry",
               "stereo_motorcycle", "retina", "rocket")
CROP = 96


def photograph_folder(root: Path, per_class: int, seed: int = 0) -> Path:
    """``per_class`` random crops of each photograph in ``root/<photograph>/``."""
    import skimage.data  # the test extra; make install includes it

    rng = np.random.default_rng(seed)
    for name in PHOTOGRAPHS:
        photograph = getattr(skimage.data, name)()
        photograph = photograph[0] if isinstance(photograph, tuple) else photograph
        (root / name).mkdir(parents=True, exist_ok=True)
        height, width = photograph.shape[:2]
        for index in range(per_class):
            top, left = rng.integers(0, height - CROP), rng.integers(0, width - CROP)
            Image.fromarray(photograph[top:top + CROP, left:left + CROP, :3]).save(
                root / name / f"{index:04d}.png")
    return root


def evofool(*args: str) -> str:
    """Run the CLI; its last stdout line."""
    result = subprocess.run([sys.executable, "-m", "evofool", *args], check=True,
                            stdout=subprocess.PIPE, text=True)
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="evofool-retrain-rgb-"))
    started = time.perf_counter()
    data = photograph_folder(out / "photographs", args.per_class)
    model = out / "photographs-cnn.pt"
    trained = json.loads(evofool("train", "small-cnn", "--data", str(data), "--out", str(model),
                                 "--size", "32", "--epochs", str(args.epochs)))
    # each round's model trains as long as round 0's (the MNIST config's 3 epochs are over
    # 60,000 digits; here they would be ~90 steps, and a weaker model is not a wiser one)
    overrides = [f"model={model}", f"data={data}", "rounds=5", f"training.epochs={args.epochs}",
                 *args.overrides]
    evofool("retrain", str(CONFIG), "--out", str(out / "experiment"), "--quiet",
            *[f"--set={override}" for override in overrides])
    table = json.loads((out / "experiment" / "rounds.json").read_text())
    classes = len(PHOTOGRAPHS)
    print(json.dumps({
        "benchmark": "retrain_rgb", "cpu": cpu_model(), "config": str(CONFIG),
        "overrides": overrides, "directory": str(out), "classes": classes,
        "model_test_accuracy": trained["test_accuracy"],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "fooled_share_per_round": [round(row[FOOLED_KEY] / classes, 3) for row in table],
        "median_per_round": [round(row["median_confidence"], 4) for row in table],
        "rounds": table}))


if __name__ == "__main__":
    main()
