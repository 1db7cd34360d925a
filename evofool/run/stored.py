"""A finished (or running) run read back from its directory: its fooling images and their records.

Export, transfer and the n+1 experiment all need the same thing: the images
a run found, with where each came from. Images are re-rendered from the
stored genomes (exact, any time later), never read back from the PNGs,
which are rounded to 8 bits.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from pathlib import Path

import torch

from evofool.encodings import encoding_for_shape
from evofool.encodings.genome_batch import RENDER_CHUNK, GenomeBatch, concat
from evofool.encodings.genome_codec import record_from_bytes
from evofool.errors import EvofoolError, first_line
from evofool.models import Classifier, ClassifierEnsemble
from evofool.models.fingerprint import model_fingerprint
from evofool.run.config import RunConfig, config_from_dict
from evofool.store import Champion, RunStore


def classes_agree(names: tuple[str, ...], others: tuple[str, ...]) -> bool:
    """Whether two class lists agree where both have classes.

    An n+1 model's classes are its round-0 model's plus a trailing garbage
    class, so their runs can be exported and scored together.
    """
    shared = min(len(names), len(others))
    return names[:shared] == others[:shared]


class StoredRun:
    """Read-only view of one run directory.

    Args:
        run_dir: the run directory.
        label: how records name the run (default: the directory's name).

    Raises:
        EvofoolError: not a run, or a store this version cannot read.
    """

    def __init__(self, run_dir: Path, *, label: str | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.label = label or self.run_dir.name
        self.store = RunStore(self.run_dir, read_only=True)
        try:
            self.config: RunConfig = config_from_dict(self.store.get_meta("config"))
            shape = self.store.get_meta("image_shape")
            if shape is None:
                raise EvofoolError(f"{run_dir} records no image shape (made by an older "
                                   "evofool)")
            self.image_shape = tuple(shape)
            self.encoding = encoding_for_shape(self.config.encoding, self.image_shape)
            self.class_names: tuple[str, ...] = tuple(self.store.get_meta("class_names"))
            self.model: str = self.store.get_meta("model")
        except BaseException:
            self.store.close()
            raise

    def evolved_against(self, classifiers: list[Classifier]) -> bool:
        """Whether the run's own model spec(s) still load the weights the run recorded
        (evofool.models.fingerprint), or whether the spec now names other weights."""
        model = classifiers[0] if len(classifiers) == 1 else ClassifierEnsemble(
            classifiers, self.config.evaluator.combine)
        return model_fingerprint(model) == self.store.get_meta("model_fingerprint")

    def close(self) -> None:
        self.store.close()

    def champions(self) -> list[Champion]:
        """The current champion of every occupied class, by class."""
        return self.store.champions()

    def history(self) -> list[Champion]:
        """Every champion the run ever had (each replacement once) whose image the store
        keeps, in the order found (see evofool.store.history for what a run keeps)."""
        return [entry for entry in self.store.history() if entry.image_kept]

    def select(self, *, min_confidence: float, include_history: bool,
               classes: Sequence[str] | None = None) -> list[Champion]:
        """The run's champions (or, ``include_history``, every champion it kept) at
        ``min_confidence`` or above, of ``classes`` (indices or names; None: all), each
        (class, genome) once, in a deterministic order.

        Raises:
            EvofoolError: a class that is not the run's.
        """
        images = self.history() if include_history else self.champions()
        wanted = None if classes is None else self._class_indices(classes)
        unique = {(image.class_index, image.genome_id): image for image in images
                  if image.confidence >= min_confidence
                  and (wanted is None or image.class_index in wanted)}
        return sorted(unique.values(), key=lambda i: (i.class_index, i.generation, i.genome_id))

    def _class_indices(self, classes: Sequence[str]) -> set[int]:
        indices = set()
        for item in classes:
            if item.isdigit() and int(item) < len(self.class_names):
                indices.add(int(item))
            elif item in self.class_names:
                indices.add(self.class_names.index(item))
            else:
                raise EvofoolError(f"--classes: {item!r} is no class of {self.label} (classes "
                                   f"0..{len(self.class_names) - 1} or their names)")
        return indices

    def render(self, genome_ids: list[int]) -> torch.Tensor:
        """Float images (N, C, H, W) in [0, 1] for stored genomes, in the order given."""
        if not genome_ids:
            return torch.empty(0, *self.image_shape)
        images = []
        for start in range(0, len(genome_ids), RENDER_CHUNK):
            batch = self.genomes(genome_ids[start:start + RENDER_CHUNK])
            images.append(self.encoding.render(batch).cpu())
        return torch.cat(images)

    def genomes(self, genome_ids: list[int]) -> GenomeBatch:
        """Stored genomes as one batch, in the order given."""
        return concat([self._genome(genome_id) for genome_id in genome_ids])

    def _genome(self, genome_id: int) -> GenomeBatch:
        stored = self.store.genome(genome_id)
        if stored is None:
            raise EvofoolError(f"{self.run_dir}: the store keeps no image of genome {genome_id}")
        try:
            return self.encoding.from_record(record_from_bytes(stored[1]))
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, RuntimeError,
                zlib.error) as error:  # a damaged or crafted row: untrusted input
            raise EvofoolError(f"{self.run_dir / 'run.sqlite'}: genome {genome_id} is "
                               f"damaged ({type(error).__name__}: {first_line(error)})"
                               ) from error
