"""A population of genomes as a dict of tensors sharing their first (individual) dimension.

Both encodings store populations this way, so the algorithms can select,
copy and replace individuals with plain indexing, whatever the encoding.
"""

from __future__ import annotations

import torch

GenomeBatch = dict[str, torch.Tensor]

# Genomes drawn at once outside the search (champion files, export, the browser):
# 256 ImageNet-size images are ~200 MB of float32.
RENDER_CHUNK = 256


def take(genomes: GenomeBatch, index: torch.Tensor) -> GenomeBatch:
    """The individuals at ``index`` (a new batch; repeats allowed)."""
    return {key: value[index] for key, value in genomes.items()}


def put(genomes: GenomeBatch, index: torch.Tensor, values: GenomeBatch) -> None:
    """Overwrite the individuals at ``index`` in place with the rows of ``values``."""
    for key, tensor in genomes.items():
        tensor[index] = values[key]


def concat(batches: list[GenomeBatch]) -> GenomeBatch:
    return {key: torch.cat([batch[key] for batch in batches]) for key in batches[0]}
