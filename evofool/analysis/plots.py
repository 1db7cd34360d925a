"""The figures of a run, shared by ``evofool plot`` (files) and ``evofool browse`` (web pages).

Figures are built with matplotlib's object API (no pyplot): no display, no
global state, safe in a web server's threads.
"""

from __future__ import annotations

import csv
import math
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from evofool.analysis.figure_style import (
    CONFIDENCE_CEILING,
    CONFIDENCE_FLOOR,
    confidence_axis,
    on_confidence_axis,
)
from evofool.archive.confidence import FOOLED_KEY, FOOLED_THRESHOLD, format_confidence
from evofool.store.layout import METRICS_FILE

if TYPE_CHECKING:
    from evofool.analysis.transfer_matrix import TransferMatrix

MONTAGE_COLUMNS = 10
ANNOTATE_UP_TO = 20  # classes; a wider heatmap carries no numbers
CAPTION_WIDTH = 16  # characters per line under a montage image


def read_metrics(run_dir: Path) -> dict[str, list[float]]:
    """``metrics.csv`` as columns of numbers (empty if the run has none yet)."""
    path = Path(run_dir) / METRICS_FILE
    columns: dict[str, list[float]] = {}
    if not path.exists():
        return columns
    with open(path, newline="") as stream:
        for row in csv.DictReader(stream):
            try:
                values = {key: float(value) for key, value in row.items()}
            except (TypeError, ValueError):  # a row being written right now
                break
            for key, value in values.items():
                columns.setdefault(key, []).append(value)
    return columns


def confidence_curves(metrics: dict[str, list[float]], num_classes: int) -> Figure:
    """Best / median / min champion confidence and classes >= 0.99 over generations."""
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    left, right = figure.subplots(1, 2)
    generations = metrics.get("generation", [])
    for key, colour in (("best", "tab:green"), ("median", "tab:blue"), ("min", "tab:red")):
        left.plot(generations, on_confidence_axis(metrics.get(key, [])), label=key,
                  color=colour)
    confidence_axis(left)
    left.set(title="champion confidence", xlabel="generation")
    left.legend(loc="lower right", fontsize="small")
    right.plot(generations, metrics.get(FOOLED_KEY, []), color="tab:purple")
    right.set(title=f"classes at >= {FOOLED_THRESHOLD}", xlabel="generation",
              ylim=(0, max(num_classes, 1) * 1.03))
    for axis in (left, right):
        axis.grid(alpha=0.3)
    return figure


def champion_montage(images: torch.Tensor, captions: Sequence[str]) -> Figure:
    """A grid of champions with a caption (class name, confidence) under each, as the
    paper's figures show them."""
    count = len(captions)
    columns = min(MONTAGE_COLUMNS, max(count, 1))
    rows = max(math.ceil(count / columns), 1)
    figure = Figure(figsize=(1.5 * columns, 1.75 * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    for index, axis in enumerate(axes.flat):
        if index >= count:
            axis.set_axis_off()
            continue
        axis.set_xticks([])
        axis.set_yticks([])
        for spine in axis.spines.values():
            spine.set_visible(False)
        image = images[index].clamp(0, 1).permute(1, 2, 0).numpy()
        if image.shape[-1] == 1:
            axis.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        else:
            axis.imshow(image, interpolation="nearest")
        axis.set_xlabel(captions[index], fontsize=7)  # a label, so the layout makes room
    return figure


def montage_caption(name: str, confidence: float) -> str:
    """A class name wrapped to two short lines (long ImageNet names would run into their
    neighbours), then the confidence."""
    lines = textwrap.wrap(name, CAPTION_WIDTH) or [""]
    if len(lines) > 2:
        lines = [lines[0], textwrap.shorten(" ".join(lines[1:]), CAPTION_WIDTH, placeholder="…")]
    return "\n".join([*lines, format_confidence(confidence)])


def class_bars(names: Sequence[str], confidences: Sequence[float]) -> Figure:
    """One bar per class: its champion's confidence, with the 0.99 line."""
    figure = Figure(figsize=(min(2 + 0.35 * len(names), 30), 4.2), layout="constrained")
    axis = figure.subplots()
    colours = ["tab:green" if value >= FOOLED_THRESHOLD else "tab:orange" for value in confidences]
    heights = [value - CONFIDENCE_FLOOR for value in on_confidence_axis(confidences)]
    axis.bar(range(len(names)), heights, bottom=CONFIDENCE_FLOOR, color=colours)
    confidence_axis(axis)
    axis.legend(handles=[Patch(color="tab:green", label=f">= {FOOLED_THRESHOLD}"),
                         Patch(color="tab:orange", label=f"< {FOOLED_THRESHOLD}")],
                loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small",
                title="champion")
    if len(names) <= 50:  # vertical, shortened names never overlap their neighbours
        axis.set_xticks(range(len(names)),
                        [textwrap.shorten(name, 24, placeholder="…") for name in names],
                        rotation=90 if len(names) > 10 else 0, fontsize=8)
    axis.set(title="champion confidence per class", xlabel="class")
    return figure


def class_history(generations: Sequence[int], confidences: Sequence[float],
                  name: str) -> Figure:
    """How one class's champion confidence rose, one step per replacement."""
    figure = Figure(figsize=(6, 3), layout="constrained")
    axis = figure.subplots()
    axis.step(generations, on_confidence_axis(confidences), where="post", marker="o",
              markersize=3)
    confidence_axis(axis)
    axis.set(title=f"champion confidence: {name}", xlabel="generation")
    axis.grid(alpha=0.3)
    return figure


def rounds_figure(table: Sequence[dict[str, Any]], natural_classes: int) -> Figure:
    """The n+1 experiment per round: natural accuracy, garbage recognised (earlier garbage,
    which the model trained on, and held-out images, which no model did), fooling, and
    the detectors' AUROC on each round's held-out images where measured."""
    rounds = [row["round"] for row in table]

    def column(key: str) -> list[float]:
        return [float("nan") if row.get(key) is None else row[key] for row in table]

    detectors = [key for key in table[0] if key.startswith("held_out_auroc_")]
    figure = Figure(figsize=(13 + 4 * bool(detectors), 3.6), layout="constrained")
    axes = figure.subplots(1, 3 + bool(detectors))
    axes[0].plot(rounds, column("test_accuracy"), marker="o")
    axes[0].set(title="natural test accuracy", xlabel="round", ylabel="accuracy")
    axes[1].plot(rounds, column("earlier_garbage_share"), marker="o", color="tab:green",
                 label="earlier garbage (trained on)")
    if "held_out_garbage_share" in table[0]:
        axes[1].plot(rounds, column("held_out_garbage_share"), marker="s", color="tab:red",
                     label="last round's held-out (never trained on)")
        axes[1].legend(loc="center right", fontsize="small")
    axes[1].set(title="fooling images called garbage", xlabel="round",
                ylabel="share", ylim=(-0.02, 1.02))
    # classes >= 0.99 as bars behind; the median on a logit axis, where 0.999 and 0.9999 differ
    # (both axes down to what the rounds reached: an ImageNet model's medians and counts may
    # be far below MNIST's 0.5 and 10 of 10)
    counts = axes[2].twinx()
    fooled = [row[FOOLED_KEY] for row in table]
    counts.bar(rounds, fooled, color="tab:orange", alpha=0.3)
    top = natural_classes if max(fooled) > natural_classes / 4 else max(max(fooled), 1) * 1.4
    counts.set(ylim=(0, top * 1.05),
               ylabel=f"classes >= {FOOLED_THRESHOLD:g} of {natural_classes} (bars)")
    axes[2].set_zorder(counts.get_zorder() + 1)
    axes[2].patch.set_visible(False)
    medians = on_confidence_axis(column("median_confidence"))
    axes[2].plot(rounds, medians, marker="o")
    confidence_axis(axes[2])
    axes[2].set_ylim(max(CONFIDENCE_FLOOR, min([0.5, *(m / 2 for m in medians if m == m)])),
                     CONFIDENCE_CEILING)
    axes[2].set(title="fooling success: median best confidence", xlabel="round")
    for key in detectors:
        axes[3].plot(rounds, column(key), marker="o", label=key.removeprefix("held_out_auroc_"))
    if detectors:
        axes[3].axhline(0.5, color="grey", linestyle=":", linewidth=1)
        axes[3].set(title="detectors on held-out images (AUROC)", xlabel="round",
                    ylim=(-0.02, 1.02))
        axes[3].legend(loc="lower left", fontsize="small")
    for axis in axes:
        axis.grid(alpha=0.3)
        axis.xaxis.get_major_locator().set_params(integer=True)
    return figure


def transfer_heatmap(matrix: TransferMatrix) -> Figure:
    """A TransferMatrix as a heatmap: a row per model, a column per fooled class."""
    columns, rows = len(matrix.classes), len(matrix.models)
    figure = Figure(figsize=(min(4 + 0.7 * columns, 26), 1.8 + 0.6 * rows),
                    layout="constrained")
    axis = figure.subplots()
    shown = axis.imshow(matrix.confidence, vmin=0, vmax=1, cmap="viridis", aspect="auto")
    # a model spec may be a long path: its file name (and what follows it) names it
    axis.set_yticks(range(rows), [
        f"{textwrap.shorten(_short_model_name(model), 40, placeholder='…')}\n"
        f"top-1 {matrix.agreement(row):.0%}" for row, model in enumerate(matrix.models)])
    if columns <= ANNOTATE_UP_TO:
        axis.set_xticks(range(columns), matrix.class_names, rotation=45, ha="right")
        for row in range(rows):
            for column in range(columns):
                value = matrix.confidence[row][column]
                # the nines matter: 0.9999 and 0.99 are not both "1.00"
                axis.text(column, row, "1" if value >= 1 else format_confidence(value),
                          ha="center", va="center", fontsize=7,
                          color="black" if value > 0.6 else "white")
    axis.set_xlabel("fooled class")
    axis.set_title("confidence each model gives\nthe class each champion was evolved for",
                   fontsize=10)
    figure.colorbar(shown, ax=axis, fraction=0.03)
    return figure


def _short_model_name(spec: str) -> str:
    """``/long/path/lenet.pt (changed since the run)`` -> ``lenet.pt (changed since the
    run)``; specs that are no paths (``mnist-lenet``) stay as they are."""
    path, separator, rest = spec.partition(" ")
    return Path(path).name + separator + rest if "/" in path else spec
