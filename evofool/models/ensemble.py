"""Several classifiers as one, so a run can evolve images that fool all of them at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch

from evofool.errors import ModelLoadError
from evofool.models.classifier import Classifier

Combine = Literal["min", "mean"]


class ClassifierEnsemble(torch.nn.Module):
    """Scores an image by every member and combines their probabilities per class.

    ``min`` rewards an image only as much as its least-fooled model allows
    (the strict "fools all of them" fitness); ``mean`` is smoother but lets
    one model carry the others. The combined rows are not renormalised: a
    class's value is what the run's archive and the transfer matrix compare.

    It offers the part of :class:`Classifier`'s interface that the evaluator
    and the encodings use; the first member sets the image size, and every
    member must accept it (a resizing ImageNet model accepts any).

    Raises:
        ModelLoadError: fewer than two members, or members whose classes differ.
    """

    def __init__(self, members: Sequence[Classifier], combine: Combine) -> None:
        super().__init__()
        if len(members) < 2:
            raise ModelLoadError("an ensemble needs at least two models")
        first = members[0]
        for member in members[1:]:
            if member.class_names != first.class_names:
                raise ModelLoadError(
                    f"{member.name} and {first.name} have different classes "
                    f"({member.num_classes} vs {first.num_classes}, or other names); "
                    "models fooled together must share their classes")
        self.members = torch.nn.ModuleList(members)
        self.combine = combine
        self.input_spec = first.input_spec
        self.class_names = first.class_names
        self.name = "+".join(member.name for member in members)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def check_shape(self, images: torch.Tensor) -> None:
        for member in self.members:
            member.check_shape(images)

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        stacked = torch.stack([member.probabilities(images) for member in self.members])
        return stacked.amin(dim=0) if self.combine == "min" else stacked.mean(dim=0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        self.check_shape(images)
        return self.probabilities(images)
