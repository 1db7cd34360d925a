"""The result of ``evofool transfer``: how much each model believes each champion.

Its own module so that drawing it (evofool.analysis.plots) and computing it
(evofool.analysis.transfer) need not import each other.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TransferMatrix:
    models: list[str]
    classes: list[int]
    class_names: list[str]
    confidence: list[list[float]]  # [model][class]
    top1: list[list[bool]]

    def agreement(self, row: int) -> float:
        return sum(self.top1[row]) / len(self.classes)

    def to_json(self) -> dict:
        return {"models": self.models, "classes": self.classes, "class_names": self.class_names,
                "confidence": self.confidence, "top1": self.top1,
                "top1_agreement": [self.agreement(row) for row in range(len(self.models))]}
