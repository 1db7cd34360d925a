"""The n+1 experiment on real RGB images that install from the package index, against MNIST's.

No CIFAR-10 package on the index holds its images (``cifar10``, ``cifar10-web``,
``pure-cifar-10`` and the like download them; see BENCHMARKS.md), so the real RGB
data set here is built from the eight colour photographs scikit-image ships
(astronaut, cat, coffee, Hubble deep field, immunohistochemistry, motorcycle,
retina, rocket): ``--per-class`` random ``--crop`` x ``--crop`` crops of each, saved
as an image folder (class = photograph; every fifth crop held out for testing).
``evofool train small-cnn`` fits a small CNN at 32 x 32, and ``evofool retrain`` runs
the n+1 experiment on it (the shipped retrain config with ``data``, ``model`` and, so
every round's model trains as long as round 0's, ``training.epochs`` set, plus
``--set`` overrides), both through the real CLI.

With ``--model SPEC`` (an ImageNet model: ``efficientnet-lite0``, ``torchvision:NAME``)
no CNN is trained: each photograph's folder is named by the model's most probable
class for the whole photograph that no other photograph took, so the natural images
are eight of the model's 1000 classes, and the experiment fine-tunes the model
(``training.mode finetune``; add ``--set training.layers=head`` for the head only).

Prints the per-round table as JSON (the last stdout line), with each round's share of
classes fooled at 0.99 next to its median best confidence, over all the model's classes
and over the natural images' classes only.

    python benchmarks/retrain_rgb.py [--out DIR] [--per-class 300] [--epochs 10]
        [--model SPEC] [--crop 96] [--set rounds=5 ...]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import commands
import numpy as np
from evaluator import cpu_model
from PIL import Image

from evofool.archive.confidence import FOOLED_KEY, median_confidence
from evofool.run.stored import StoredRun
from evofool.store.retrain_layout import round_run_dir

CONFIG = Path(__file__).parents[1] / "configs" / "mnist_retrain.yaml"
PHOTOGRAPHS = ("astronaut", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry",
               "stereo_motorcycle", "retina", "rocket")


def photographs() -> dict[str, np.ndarray]:
    """The eight photographs, uint8 (H, W, 3) each."""
    import skimage.data  # the test extra; make install includes it

    pictures = {}
    for name in PHOTOGRAPHS:
        photograph = getattr(skimage.data, name)()
        pictures[name] = (photograph[0] if isinstance(photograph, tuple) else photograph)[..., :3]
    return pictures


def photograph_folder(root: Path, per_class: int, crop: int, names: dict[str, str],
                      seed: int = 0) -> Path:
    """``per_class`` random crops of each photograph in ``root/<its class name>/``."""
    rng = np.random.default_rng(seed)
    for name, photograph in photographs().items():
        (root / names[name]).mkdir(parents=True, exist_ok=True)
        height, width = photograph.shape[:2]
        for index in range(per_class):
            top, left = rng.integers(0, height - crop), rng.integers(0, width - crop)
            Image.fromarray(photograph[top:top + crop, left:left + crop]).save(
                root / names[name] / f"{index:04d}.png")
    return root


def named_by(model: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """Each photograph's class: the model's most probable one for the whole photograph
    that no photograph before it took; and the model's class names."""
    import torch

    from evofool.models import load_classifier

    classifier = load_classifier(model)
    taken: dict[str, str] = {}
    for name, photograph in photographs().items():
        image = torch.from_numpy(photograph).permute(2, 0, 1)[None].float() / 255
        with torch.inference_mode():
            ranked = classifier(image)[0].argsort(descending=True).tolist()
        taken[name] = next(classifier.class_names[index] for index in ranked
                           if classifier.class_names[index] not in taken.values())
    return taken, classifier.class_names


def natural_medians(experiment: Path, rounds: int, natural: list[int]) -> list[float]:
    """Per round, the median best confidence over the natural images' classes only (an
    ImageNet model's data holds a few of its 1000, and training pushes the rest down)."""
    medians = []
    for round_index in range(rounds):
        run = StoredRun(round_run_dir(experiment, round_index))
        try:
            best = {champion.class_index: champion.confidence for champion in run.champions()}
        finally:
            run.close()
        medians.append(round(median_confidence(best.get(index, 0.0) for index in natural), 4))
    return medians


def evofool(*args: str) -> str:
    """Run the CLI; its last stdout line."""
    return commands.evofool(*args, who="retrain_rgb").strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--per-class", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--model", default=None, help="an ImageNet model spec; default: "
                        "train a small CNN on the photographs")
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="evofool-retrain-rgb-"))
    started = time.perf_counter()
    names, class_names = named_by(args.model) if args.model else (
        {name: name for name in PHOTOGRAPHS}, tuple(sorted(PHOTOGRAPHS)))
    classes = len(class_names)
    data = photograph_folder(out / "photographs", args.per_class, args.crop, names)
    # each round's model trains as long as round 0's (the MNIST config's 3 epochs are over
    # 60,000 digits; here they would be ~90 steps, and a weaker model is not a wiser one)
    overrides = ["rounds=5", f"training.epochs={args.epochs}"]
    if args.model:
        model, trained = args.model, {"test_accuracy": None}
        overrides.append("training.mode=finetune")
    else:
        model = out / "photographs-cnn.pt"
        trained = json.loads(evofool("train", "small-cnn", "--data", str(data), "--out",
                                     str(model), "--size", "32", "--epochs", str(args.epochs)))
    overrides = [f"model={model}", f"data={data}", *overrides, *args.overrides]
    evofool("retrain", str(CONFIG), "--out", str(out / "experiment"), "--quiet",
            *[f"--set={override}" for override in overrides])
    table = json.loads((out / "experiment" / "rounds.json").read_text())
    print(json.dumps({
        "benchmark": "retrain_rgb", "cpu": cpu_model(), "config": str(CONFIG),
        "overrides": overrides, "directory": str(out), "classes": classes,
        "natural_classes": sorted(set(names.values())),
        "model_test_accuracy": trained["test_accuracy"],
        "wall_seconds": round(time.perf_counter() - started, 1),
        "fooled_share_per_round": [round(row[FOOLED_KEY] / classes, 3) for row in table],
        "median_per_round": [round(row["median_confidence"], 4) for row in table],
        "median_natural_classes_per_round": natural_medians(
            out / "experiment", len(table),
            sorted(class_names.index(name) for name in set(names.values()))),
        "rounds": table}))


if __name__ == "__main__":
    main()
