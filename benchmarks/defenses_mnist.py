"""Which defence stops fooling images, and at what cost to clean accuracy? One MNIST table.

For the default LeNet and the shipped ``configs/mnist_cppn.yaml`` and
``configs/mnist_direct.yaml``, seeds ``--seeds``:

(a) **ordinary champions under each defence**: each seed's run as shipped, its final
    champions >= 0.99 scored by ``evofool defend`` under every input defence: the share
    still >= 0.99 (mean over seeds);
(b) **champions evolved through each defence**: the same config with
    ``evaluator.defenses: [D]`` for up to ``--generations`` generations, stopped once
    every digit is >= 0.99 under D: digits >= 0.99 and the generations it took, and
    the digits whose champion is still >= 0.99 when ``evofool defend`` scores it again
    under D as an 8-bit image with fresh noise (a run keeps its luckiest draws);

beside the defences evofool already had, each the shipped config with one change:
the n+1 garbage class after one and after ``--rounds`` rounds (``evofool retrain
configs/mnist_retrain.yaml``, its round-1 and round-N models as the model), the
Mahalanobis gate (``evaluator.detector``, keeping 95 % of test digits) and a
two-LeNet ensemble (``model: [mnist-lenet, a LeNet trained from seed 1]``,
``combine: min``). Every row has the clean accuracy on the 10,000 test digits
of what the defence leaves (a gate's rejections count as errors).

With ``--imagenet``, also ordinary EfficientNet-Lite0 champions (50 classes,
``--imagenet-minutes``) under noise averaging and JPEG (no labelled ImageNet
images here: no clean accuracy).

The last stdout line is the result as JSON; ``--markdown`` also writes the table.
``--run-set`` and ``--retrain-set`` override every run's and the n+1 experiment's
config, ``--encodings`` runs one of the two configs, ``--second-lenet`` brings the
ensemble's second LeNet instead of training one, ``--natural-images`` measures clean
accuracy on fewer test digits and
``--min-confidence`` lowers the bar for (a): what a smoke run on a budget of seconds
needs.

    python benchmarks/defenses_mnist.py [--seeds 0 1 2 3 4] [--generations 2000]
        [--rounds 5] [--parallel 2] [--out runs/defenses-mnist] [--imagenet]
        [--run-set KEY=VALUE ...] [--retrain-set KEY=VALUE ...] [--second-lenet PATH]
        [--encodings cppn direct] [--natural-images N] [--min-confidence 0.99]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
from pathlib import Path

import commands
import torch

from evofool.archive.confidence import FOOLED_KEY, FOOLED_SHARE_KEY

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
ENCODINGS = {"cppn": CONFIGS / "mnist_cppn.yaml", "direct": CONFIGS / "mnist_direct.yaml"}
DEFENSES = ("noise_average:sigma=0.3,samples=8", "jpeg:quality=25", "bit_depth:bits=1",
            "median:window=3")
IMAGENET_DEFENSES = ("noise_average:sigma=0.1,samples=8", "noise_average:sigma=0.25,samples=8",
                     "jpeg:quality=75", "jpeg:quality=25")
DIGITS = json.dumps(list(range(10)))


def evofool(*args: str) -> str:
    return commands.evofool(*args, who="defenses_mnist")


def run(job: tuple[Path, Path, list[str]]) -> dict:
    """``evofool run`` of ``(run_dir, config, overrides)`` (unless done already); its
    summary."""
    run_dir, config, overrides = job
    if not (run_dir / "summary.json").exists():
        evofool("run", str(config), "--out", str(run_dir), "--quiet",
                *(item for override in overrides for item in ("--set", override)))
    return json.loads((run_dir / "summary.json").read_text())


def evolved_through(summary: dict) -> dict:
    """Digits at >= 0.99 (passing the detector where there is one) and generations."""
    digits = summary.get(f"{FOOLED_KEY}_passing_detector", summary[FOOLED_KEY])
    return {"digits": digits, "generations": summary["generations"],
            "wall_seconds": summary["wall_seconds"]}


def clean_accuracy(models: list[str], natural_images: int | None,
                   gate_run: Path | None = None) -> float:
    """Accuracy on the first ``natural_images`` of the 10,000 test digits (None: all);
    with a gated run's detector, its rejections count as errors."""
    from evofool.data import load_mnist
    from evofool.evaluation.scorer import ImageScorer
    from evofool.models import load_classifiers

    mnist = load_mnist()
    images = torch.from_numpy(mnist.test_images[:natural_images]).unsqueeze(1).float() / 255
    labels = torch.from_numpy(mnist.test_labels[:natural_images]).long()
    classifier = load_classifiers(models, "min")
    correct = ImageScorer(classifier, device="cpu").score(images).argmax(1) == labels
    if gate_run is not None:
        from evofool.ood.gate import DetectorGate

        gate = DetectorGate.load(gate_run / "detector.pt", classifier)
        correct &= gate.passes(gate.outlier_scores(images))
    return round(float(correct.float().mean()), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--generations", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=2, help="runs at once")
    parser.add_argument("--out", type=Path, default=Path("runs") / "defenses-mnist")
    parser.add_argument("--markdown", type=Path, default=None)
    parser.add_argument("--imagenet", action="store_true")
    parser.add_argument("--imagenet-minutes", type=float, default=20)
    parser.add_argument("--run-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--retrain-set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--second-lenet", type=Path, default=None,
                        help="the ensemble's second LeNet (default: train one from seed 1)")
    parser.add_argument("--encodings", nargs="+", choices=list(ENCODINGS),
                        default=list(ENCODINGS))
    parser.add_argument("--natural-images", type=int, default=None,
                        help="clean accuracy on the first N test digits (default all)")
    parser.add_argument("--min-confidence", type=float, default=0.99,
                        help="ordinary champions scored under each defence (a)")
    args = parser.parse_args()
    threads = max(1, (os.cpu_count() or 1) // args.parallel)
    encodings = {name: ENCODINGS[name] for name in args.encodings}
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    second_lenet = args.second_lenet or out / "lenet-seed1.pt"
    if not second_lenet.exists():
        evofool("train", "mnist-lenet", "--seed", "1", "--out", str(second_lenet))
    retrain = out / "retrain"
    if not (retrain / "models" / f"round-{args.rounds:02d}.pt").exists():
        evofool("retrain", str(CONFIGS / "mnist_retrain.yaml"), "--out", str(retrain),
                "--set", f"rounds={args.rounds}", "--set", "held_out.enabled=false",
                *(item for override in args.retrain_set for item in ("--set", override)))
    n_plus_one = {f"n+1 after {count} round{'s' if count > 1 else ''}":
                  retrain / "models" / f"round-{count:02d}.pt"
                  for count in sorted({1, args.rounds})}
    stop = [*args.run_set, f"generations={args.generations}", "stop_when_all_at=0.99"]
    through = {defense: [f"evaluator.defenses={json.dumps([defense])}", *stop]
               for defense in DEFENSES}
    through["Mahalanobis gate (95 % TPR)"] = ["evaluator.detector={type: mahalanobis}", *stop]
    through["ensemble of two LeNets (min)"] = [
        f"model={json.dumps(['mnist-lenet', str(second_lenet)])}", "evaluator.combine=min",
        *stop]
    for name, model in n_plus_one.items():
        through[name] = [f"model={model}", f"algorithm.classes={DIGITS}", *stop]
    jobs = [(out / f"{encoding}-ordinary-seed{seed}", config, [f"seed={seed}", *args.run_set])
            for encoding, config in encodings.items() for seed in args.seeds]
    jobs += [(out / f"{encoding}-{slug(name)}-seed{seed}", config, [f"seed={seed}", *overrides])
             for name, overrides in through.items() for encoding, config in encodings.items()
             for seed in args.seeds]
    summaries = dict(zip([job[0] for job in jobs], commands.map_in_processes(
        run, jobs, processes=args.parallel, threads=threads), strict=True))

    natural = [] if args.natural_images is None else [
        "--natural-images", str(args.natural_images)]
    rows = []
    ordinary_under = {}
    for encoding in encodings:
        report = json.loads(evofool(
            "defend", "mnist-lenet", "--fooling",
            *(str(out / f"{encoding}-ordinary-seed{seed}") for seed in args.seeds),
            "--champions-only", "--min-confidence", str(args.min_confidence),
            "--defenses", *DEFENSES, *natural,
            "--out", str(out / f"defend-{encoding}")
        ).splitlines()[-1])
        for row in report["rows"]:
            ordinary_under.setdefault((row["defense"], encoding), []).append(row)
    rescored = {(defense, encoding): rescore(out, defense, encoding, args.seeds)
                for defense in DEFENSES for encoding in encodings}
    for name in ["none", *through]:
        row = {"defense": name}
        for encoding in encodings:
            under = ordinary_under.get((name, encoding))
            if under:
                row[f"{encoding}_ordinary_share_at_0.99"] = round(statistics.mean(
                    item[FOOLED_SHARE_KEY] for item in under), 3)
                row["clean_accuracy"] = under[0]["clean_accuracy"]
            if name != "none":
                results = [evolved_through(summaries[out / f"{encoding}-{slug(name)}-seed{seed}"])
                           for seed in args.seeds]
                row[f"{encoding}_through_digits"] = [item["digits"] for item in results]
                row[f"{encoding}_through_generations"] = [item["generations"]
                                                          for item in results]
            if (name, encoding) in rescored:
                row[f"{encoding}_through_rescored_digits"] = rescored[name, encoding]
        rows.append(row)
    by_name = {row["defense"]: row for row in rows}
    gate = "Mahalanobis gate (95 % TPR)"
    by_name[gate]["clean_accuracy"] = clean_accuracy(
        ["mnist-lenet"], args.natural_images,
        gate_run=out / f"{args.encodings[0]}-{slug(gate)}-seed{args.seeds[0]}")
    by_name["ensemble of two LeNets (min)"]["clean_accuracy"] = clean_accuracy(
        ["mnist-lenet", str(second_lenet)], args.natural_images)
    for name, model in n_plus_one.items():
        by_name[name]["clean_accuracy"] = clean_accuracy([str(model)], args.natural_images)
    result = {"seeds": args.seeds, "generations": args.generations, "rows": rows}
    if args.imagenet:
        result["imagenet"] = imagenet(out, args.imagenet_minutes)
    if args.markdown:
        args.markdown.write_text(markdown(result))
    print(json.dumps(result))


def rescore(out: Path, defense: str, encoding: str, seeds: list[int]) -> list[float]:
    """Digits whose champion, evolved through ``defense``, is still >= 0.99 when scored
    again under it as an 8-bit image with fresh noise (a run keeps its luckiest draws)."""
    runs = [out / f"{encoding}-{slug(defense)}-seed{seed}" for seed in seeds]
    report = json.loads(evofool(
        "defend", "mnist-lenet", "--fooling", *map(str, runs), "--champions-only",
        "--min-confidence", "0", "--in-distribution", "none", "--defenses", defense,
        "--out", str(out / f"rescore-{encoding}-{slug(defense)}")
    ).splitlines()[-1])
    return [round(row[FOOLED_SHARE_KEY] * row["images"], 1) for row in report["rows"]
            if row["defense"] == defense]


def imagenet(out: Path, minutes: float) -> list[dict]:
    """Ordinary EfficientNet-Lite0 champions of 50 classes under noise averaging and JPEG."""
    run_dir = out / "imagenet-50-classes"
    run((run_dir, CONFIGS / "imagenet_cppn.yaml",
         [f"wall_seconds={minutes * 60}", f"algorithm.classes={json.dumps(list(range(50)))}"]))
    report = json.loads(evofool(
        "defend", "efficientnet-lite0", "--fooling", str(run_dir), "--champions-only",
        "--min-confidence", "0.5", "--in-distribution", "none", "--defenses",
        *IMAGENET_DEFENSES, "--out", str(out / "defend-imagenet")
    ).splitlines()[-1])
    return report["rows"]


def slug(name: str) -> str:
    return "".join(character if character.isalnum() else "-" for character in name).strip("-")


def markdown(result: dict) -> str:
    seeds = len(result["seeds"])

    def digits(row: dict, encoding: str) -> str:
        values = row.get(f"{encoding}_through_digits")
        if values is None:
            return "—"
        generations = row[f"{encoding}_through_generations"]
        again = row.get(f"{encoding}_through_rescored_digits")
        return (f"{statistics.mean(values):.1f} (all 10 in {sum(v == 10 for v in values)}/"
                f"{seeds}; median {statistics.median(generations):g} gen.)"
                + ("" if again is None else f"; scored again: {statistics.mean(again):.1f}"))

    lines = ["| defence | clean accuracy | CPPN champions still ≥ 0.99 | direct champions "
             "still ≥ 0.99 | CPPN evolved through: digits ≥ 0.99 | direct evolved through: "
             "digits ≥ 0.99 |", "|---|---:|---:|---:|---|---|"]
    for row in result["rows"]:
        share = [row.get(f"{encoding}_ordinary_share_at_0.99") for encoding in ENCODINGS]
        lines.append(
            f"| {row['defense']} | {row.get('clean_accuracy', '—')} | "
            + " | ".join("—" if value is None else f"{value:.0%}" for value in share) + " | "
            + " | ".join(digits(row, encoding) for encoding in ENCODINGS) + " |")
    if result.get("imagenet"):
        lines += ["", "| ImageNet defence | still ≥ 0.5 | median confidence |", "|---|---:|---:|"]
        lines += [f"| {row['defense']} | {row['share_at_0.5']:.0%} ("
                  f"{round(row['share_at_0.5'] * row['images'])} of {row['images']}) | "
                  f"{row['median_confidence']:.3f} |" for row in result["imagenet"]]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
