"""What a finished (or stopped) run leaves in its directory (names: evofool.store.layout):
the config, champion PNGs, champion genomes and the summary."""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import yaml

from evofool.archive.champions import ChampionArchive
from evofool.archive.confidence import (
    FOOLED_COST_KEY,
    FOOLED_KEY,
    classes_fooled,
    median_confidence,
)
from evofool.encodings.genome_batch import RENDER_CHUNK, take
from evofool.encodings.protocol import Encoding
from evofool.files.atomic import replaced_atomically, write_atomically
from evofool.files.images import png_bytes
from evofool.store.layout import (
    CHAMPIONS_DIR,
    CONFIG_FILE,
    GENOMES_JSON,
    GENOMES_NPZ,
    SUMMARY_FILE,
)


class DictConfig(Protocol):
    """A resolved config that writes itself out: a run's (RunConfig) or an n+1
    experiment's (evofool.n_plus_one.config, which builds on this layer)."""

    def to_dict(self) -> dict[str, Any]: ...


def write_config(config: DictConfig, run_dir: Path) -> None:
    """``config.yaml``: the resolved config of a run or an n+1 experiment, atomically."""
    write_atomically(run_dir / CONFIG_FILE, yaml.safe_dump(config.to_dict(), sort_keys=False))


def summarise(archive: ChampionArchive, class_names: tuple[str, ...], *, competing: list[float],
              generations: int, evaluations: int, wall_seconds: float) -> dict[str, Any]:
    """The ``summary.json`` content: per-class champions and their fooling cost; the median
    and the fooled count are over ``competing`` (``fooling_values``), as metrics.csv's."""
    classes = [{"class": cell.index, "name": class_names[cell.index],
                "confidence": cell.confidence, "generation": cell.generation,
                "genome_id": cell.genome_id, FOOLED_COST_KEY: cell.evaluations_to_threshold}
               for cell in archive.cells()]
    return {"generations": generations, "evaluations": evaluations,
            "wall_seconds": round(wall_seconds, 3),
            "median_confidence": median_confidence(competing),
            FOOLED_KEY: classes_fooled(competing), "classes": classes}


def write_results(run_dir: Path, archive: ChampionArchive, encoding: Encoding,
                  summary: dict[str, Any]) -> None:
    """Champion genomes and the summary, each file replaced atomically.

    Champion images are written by the run recorder (evofool.run.recorder).
    """
    records = {cell.index: encoding.to_record(archive.genomes, cell.index)
               for cell in archive.cells()}
    if encoding.record_format == "array":
        with replaced_atomically(run_dir / GENOMES_NPZ) as stream:
            np.savez(stream, classes=np.array(list(records)),
                     genomes=np.stack(list(records.values())))
    else:
        write_atomically(run_dir / GENOMES_JSON, json.dumps(
            {str(index): record for index, record in records.items()}))
    write_atomically(run_dir / SUMMARY_FILE, json.dumps(summary, indent=2))


def safe_name(name: str) -> str:
    """``name`` reduced to letters, digits and underscores, fit for a file name."""
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_")[:40] or "class"


def champion_image_name(index: int, name: str, confidence: float, genome_id: int) -> str:
    """``class-<index>-<name>-<confidence>-g<genome id>.png``: the genome id tells two
    champions apart whose confidences print alike. The confidence is cut, not rounded, to
    6 decimals: 0.99999976 reads 0.999999, and 1.000000 means exactly 1."""
    shown = math.floor(confidence * 1e6) / 1e6
    return f"class-{index:04d}-{safe_name(name)}-{shown:.6f}-g{genome_id}.png"


class ChampionImageWriter:
    """Keeps ``champions/`` at one PNG per champion, re-drawing only champions that changed.

    Why: an ImageNet run has 1000 champions, and drawing and encoding all of them
    at every checkpoint took ~14 s on 2 cores; between two checkpoints only a
    fraction change. A new writer (a resumed run) starts from the files on disk:
    a file's name holds its champion's genome id and confidence.
    """

    PROGRESS_AFTER = 200  # announce a write of more images than this

    def __init__(self, run_dir: Path, encoding: Encoding, class_names: tuple[str, ...]) -> None:
        self.folder = run_dir / CHAMPIONS_DIR
        self.encoding = encoding
        self.class_names = class_names
        self.written: dict[int, str] = {  # class -> file name now on disk
            int(path.name.split("-")[1]): path.name for path in self.folder.glob("class-*.png")}

    def update(self, archive: ChampionArchive) -> None:
        """Draw the champions whose file name changed; remove replaced champions' files.

        A genome that holds several cells (one child takes every class where it beats the
        champion: early in an ImageNet run, hundreds) is drawn and encoded once."""
        self.folder.mkdir(exist_ok=True)
        cells = {cell.index: cell for cell in archive.cells()}
        wanted = {index: champion_image_name(index, self.class_names[index], cell.confidence,
                                             cell.genome_id)
                  for index, cell in cells.items()}
        changed = [index for index, name in wanted.items() if self.written.get(index) != name]
        if len(changed) > self.PROGRESS_AFTER:
            print(f"evofool: writing {len(changed)} champion images to {self.folder}",
                  file=sys.stderr)
        cells_of_genome: dict[int, list[int]] = {}
        for index in changed:
            cells_of_genome.setdefault(cells[index].genome_id, []).append(index)
        drawn = [indices[0] for indices in cells_of_genome.values()]
        for start in range(0, len(drawn), RENDER_CHUNK):
            chunk = drawn[start:start + RENDER_CHUNK]
            images = self.encoding.render(take(archive.genomes, torch.tensor(
                chunk, device=archive.occupied.device))).cpu()
            for image, first in zip(images, chunk, strict=True):
                encoded = png_bytes(image)
                for index in cells_of_genome[cells[first].genome_id]:
                    write_atomically(self.folder / wanted[index], encoded, durable=False)
                    self.written[index] = wanted[index]
        names = set(wanted.values())
        for stale in self.folder.glob("class-*.png"):
            if stale.name not in names:
                stale.unlink()
