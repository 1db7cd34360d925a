"""Do a run's fooling images fool other models? Score its champions on each and tabulate.

The matrix has one row per model (the run's own first) and one column per
fooled class: the probability that model gives the class the champion was
evolved for. Top-1 agreement is the share of champions that model also
labels as their fooled class. Images are re-rendered from the stored genomes,
so the run's own row reproduces its recorded confidences.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import torch

from evofool.analysis.figure_style import to_png
from evofool.analysis.plots import transfer_heatmap
from evofool.analysis.transfer_matrix import TransferMatrix
from evofool.errors import EvofoolError
from evofool.evaluation.scorer import ImageScorer
from evofool.files.atomic import write_atomically
from evofool.models import Classifier, load_classifier
from evofool.run.stored import StoredRun, classes_agree


def transfer_matrix(run_dir: Path, models: Sequence[str | Classifier], *,
                    device: str = "auto") -> TransferMatrix:
    """Score ``run_dir``'s champions on its own model(s) and on ``models`` (specs, or
    classifiers already built: modules handed over from Python, named by their ``name``).

    Champions of classes some model lacks (the garbage class of an n+1
    model, scored on an n-class one) are left out.

    Raises:
        EvofoolError: not a run, no champions, or a model that cannot take the
            run's images or whose classes differ.
    """
    run = StoredRun(run_dir)
    try:
        own = run.config.model_specs
        chosen = [*own, *models]
        specs = [model if isinstance(model, str) else model.name for model in chosen]
        classifiers = [load_classifier(model) if isinstance(model, str) else model
                       for model in chosen]
        for spec, classifier in zip(specs, classifiers, strict=True):
            _check_compatible(classifier.class_names, run.class_names, spec, run_dir)
        if not run.evolved_against(classifiers[:len(own)]):
            # the spec names a model whose weights changed since (a retrained mnist-lenet):
            # its row must not pass for the run's own model
            specs[:len(own)] = [f"{spec} (changed since the run)" for spec in own]
        # Only classes every model has (an n+1 model's garbage class is not another's).
        shared = min(classifier.num_classes for classifier in classifiers)
        champions = [c for c in run.champions() if c.class_index < shared]
        if not champions:
            raise EvofoolError(f"{run_dir} has no champions of classes all models share")
        images = run.render([champion.genome_id for champion in champions])
        classes = torch.tensor([champion.class_index for champion in champions])
        confidence, top1 = [], []
        for classifier in classifiers:
            probabilities = ImageScorer(classifier, device=device).score(images).cpu()
            confidence.append(probabilities[torch.arange(len(classes)), classes].tolist())
            top1.append((probabilities.argmax(dim=1) == classes).tolist())
        return TransferMatrix(models=specs, classes=classes.tolist(),
                              class_names=[run.class_names[index] for index in classes.tolist()],
                              confidence=confidence, top1=top1)
    finally:
        run.close()


def _check_compatible(names: tuple[str, ...], run_names: tuple[str, ...], spec: str,
                      run_dir: Path) -> None:
    if not classes_agree(names, run_names):
        index, theirs, ours = next((index, a, b) for index, (a, b)
                                   in enumerate(zip(names, run_names, strict=False)) if a != b)
        raise EvofoolError(f"{spec} does not have the classes of {run_dir}'s model: its class "
                           f"{index} is {theirs!r}, the run's is {ours!r} ({len(names)} vs "
                           f"{len(run_names)} classes)")


def write_transfer(matrix: TransferMatrix, out: Path) -> None:
    """``transfer.csv`` (a row per model), ``transfer.json`` and ``transfer.png``."""
    out.mkdir(parents=True, exist_ok=True)
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["model", "top1_agreement",
                     *(f"{c}:{n}" for c, n in zip(matrix.classes, matrix.class_names,
                                                  strict=True))])
    for row, model in enumerate(matrix.models):
        writer.writerow([model, f"{matrix.agreement(row):.4f}",
                         *(f"{value:.6f}" for value in matrix.confidence[row])])
    write_atomically(out / "transfer.csv", table.getvalue())
    write_atomically(out / "transfer.json", json.dumps(matrix.to_json(), indent=2))
    write_atomically(out / "transfer.png", to_png(transfer_heatmap(matrix)))
