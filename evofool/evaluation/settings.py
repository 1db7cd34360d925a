"""The ``evaluator:`` section of a run config: where and how children are scored, with an
optional screen (evofool.evaluation.screen), detector gate (evofool.ood.gate) and input
defences (evofool.defenses). Cross-key checks live with the run config (evofool.run.config).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from evofool.defenses.base import DefenseSettings
from evofool.defenses.chain import defense_settings
from evofool.defenses.ten_crop import TenCropSettings
from evofool.engines.registry import exact_choices, screen_choices
from evofool.errors import ConfigError, quoted
from evofool.ood.detectors import GATE_DETECTORS
from evofool.settings import converted, one_of, positive, probability


@dataclass(frozen=True)
class DetectorSettings:
    """Evolve past an OOD detector: a child counts for a class only where the detector,
    thresholded to keep ``tpr`` of ``threshold_on``'s images, keeps it (evofool.ood.gate)."""

    type: Literal[GATE_DETECTORS] = "mahalanobis"
    fit_on: str = "mnist-train"  # natural images feature detectors are fit on
    fit_images: int = positive(20000)  # the first N images of fit_on
    threshold_on: str = "mnist-test"  # natural images the threshold is set on
    tpr: float = probability(0.95)  # share of threshold_on images the gate lets pass


@dataclass(frozen=True)
class ScreenSettings:
    """Score every child on a cheap engine and only the ones that could take a cell on the
    exact one (evofool.evaluation.screen). auto: of the engines that are not exact and that a
    timing shows pay here, the most faithful (openvino-bf16 where the processor computes in
    bf16, else onnxruntime-int8; ``choose_screen``), else no screen; also none where a
    screen cannot serve the run (``screen_blocker``), where a named engine is refused."""

    engine: str = one_of(screen_choices, "auto")  # the screening engine; auto: see above
    # log-odds added to a screened score; None: the screening engine's own (its measured
    # error: 0.5 for bf16, 2.0 for int8; benchmarks/screen.py)
    margin: float | None = positive(None)
    audit_every: int | None = positive(50)  # generations between all-exact audits
    # pays: screen a generation only where the last one says it costs less than scoring
    # every child exactly; always: screen every generation
    when: Literal["pays", "always"] = "pays"


def _defenses(value: Any, key: str) -> list[DefenseSettings]:
    if not isinstance(value, list):
        raise ConfigError(f"{key} must be a list of defences, got {quoted(value)}")
    return [defense_settings(item, f"{key}[{index}]") for index, item in enumerate(value)]


@dataclass(frozen=True)
class EvaluatorSettings:
    device: str = "auto"  # auto (CUDA when present), cpu, cuda, cuda:N or mps
    max_batch: int = positive(1024)  # images per forward pass (memory, not results)
    amp: bool = False  # bf16 autocast on CUDA
    combine: Literal["min", "mean"] = "min"  # fitness over several models (see RunConfig.model)
    ten_crop: bool = False  # the paper's ImageNet fitness: 10 crops, softmax averaged
    backend: Literal["local", "ray"] = "local"  # ray: score on Ray actors (evofool[ray])
    # what runs the network (evofool.engines.registry); auto: the fastest exact one here
    engine: str = one_of(exact_choices, "auto")
    ray_address: str | None = None  # an existing cluster ("auto", "ray://host:10001"); None: local
    ray_actors: int = positive(2)  # scoring actors
    ray_gpus_per_actor: float = 0.0  # 1: one GPU per actor
    detector: DetectorSettings | None = None  # evolve past this OOD detector (evofool[ood])
    screen: ScreenSettings | None = None  # screen children on a cheap engine (MAP-Elites)
    # input defences the model is scored through, in order (evofool.defenses)
    defenses: list = converted(_defenses, list)

    @property
    def defense_chain(self) -> list[DefenseSettings]:
        """``defenses``, after ten-crop where ``ten_crop`` asks for it (its older spelling)."""
        ten_crop = [TenCropSettings()] if self.ten_crop and not any(
            item.type == "ten_crop" for item in self.defenses) else []
        return ten_crop + list(self.defenses)
