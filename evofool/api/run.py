"""``Run``: one run directory seen from Python, what ``evofool.evolve`` returns."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import torch

from evofool.archive.confidence import FOOLED_THRESHOLD
from evofool.errors import EvofoolError
from evofool.store import is_run_dir
from evofool.store.layout import SUMMARY_FILE

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import nn

    from evofool.analysis.datasets import FoolingImages


class Champion(NamedTuple):
    """The best image a run found for one class."""

    class_index: int
    name: str
    confidence: float
    generation: int
    genome_id: int


class Run:
    """A run directory: its champions, their images, its summary and figures; ``resume``
    continues it.

    Example:
        >>> run = evofool.open_run("runs/mnist-cppn-20261207-120000")  # doctest: +SKIP
        >>> run.champions[0]  # doctest: +SKIP
        Champion(class_index=0, name='0', confidence=0.9999, generation=187, genome_id=3021)
        >>> run.montage()  # a matplotlib Figure; shows inline in Jupyter  # doctest: +SKIP

    Raises:
        EvofoolError: ``run_dir`` is not an evofool run.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        if not is_run_dir(self.run_dir):
            raise EvofoolError(f"{self.run_dir} is not an evofool run directory")

    def __repr__(self) -> str:
        summary = self.summary
        if not summary:
            return f"Run({str(self.run_dir)!r}, unfinished)"
        return (f"Run({str(self.run_dir)!r}, generations={summary['generations']}, "
                f"median_confidence={summary['median_confidence']:.4f}, "
                f"classes_at_{FOOLED_THRESHOLD:g}={summary.get('classes_at_0.99')})")

    @property
    def summary(self) -> dict[str, Any]:
        """``summary.json``: generations, evaluations, median confidence, classes at >= 0.99,
        every class's champion (empty until the run has stopped once)."""
        path = self.run_dir / SUMMARY_FILE
        return json.loads(path.read_text()) if path.exists() else {}

    @property
    def champions(self) -> list[Champion]:
        """The current champion of every class the run has one for, by class."""
        with self._stored() as run:
            return [Champion(entry.class_index, run.class_names[entry.class_index],
                             entry.confidence, entry.generation, entry.genome_id)
                    for entry in run.champions()]

    def images(self) -> torch.Tensor:
        """The champions' images, float32 (N, C, H, W) in [0, 1], in ``champions``' order,
        drawn again from their genomes (exact, unlike the 8-bit PNGs)."""
        with self._stored() as run:
            return run.render([entry.genome_id for entry in run.champions()])

    def montage(self) -> Figure:
        """The champions in a grid, each captioned with its class and confidence."""
        from evofool.analysis.figure_style import shown_inline
        from evofool.analysis.run_figures import montage_figure

        return shown_inline(montage_figure(self.run_dir))

    def curve(self) -> Figure:
        """Best, median and worst champion confidence, and classes at >= 0.99, per generation."""
        from evofool.analysis.figure_style import shown_inline
        from evofool.analysis.run_figures import curve_figure

        return shown_inline(curve_figure(self.run_dir))

    def export(self, out: str | Path, *,
               format: Literal["imagefolder", "openood", "pt", "npz"] = "imagefolder",
               min_confidence: float = FOOLED_THRESHOLD, include_history: bool = False,
               overwrite: bool = False,
               targets: Literal["ood", "fooled"] = "ood") -> FoolingImages:
        """Write the fooling images to ``out`` as ``evofool export`` does, and return them as
        a PyTorch dataset (targets -1, pytorch-ood's mark for OOD, or the fooled class)."""
        from evofool.analysis.datasets import FoolingImages
        from evofool.analysis.export import ExportRequest, export

        export(ExportRequest(run_dirs=[self.run_dir], out=Path(out), format=format,
                             min_confidence=min_confidence, classes=None, rounds=None,
                             include_history=include_history, overwrite=overwrite,
                             labels="ood"))
        return FoolingImages(out, targets=targets)

    def resume(self, *, model: nn.Module | None = None, progress: bool = True,
               force: bool = False, input_shape: Sequence[int] | None = None,
               mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
               outputs: str = "logits", **stop: Any) -> Run:
        """Continue the run where it stopped (a run that had met its stop conditions stays
        as it is); ``stop`` may move them (``generations=500``, ``wall_seconds=600``).

        A run made from a model object needs that module again (``model=``, fed as at the
        start: ``input_shape``, ``mean``, ``std``, ``outputs``); other weights are refused
        unless ``force``.
        """
        from evofool.api.run_path import quiet_unless, resume_run
        from evofool.run.stop_rules import RunAlreadyFinished

        overrides = [f"{key}={json.dumps(value)}" for key, value in stop.items()]
        with quiet_unless(progress):
            try:
                resume_run(self.run_dir, overrides, model=model, input_shape=input_shape,
                           mean=mean, std=std, outputs=outputs, progress=progress,
                           force=force, bar=True)
            except RunAlreadyFinished:
                pass
        return self

    def _stored(self):
        from contextlib import closing

        from evofool.run.stored import StoredRun

        return closing(StoredRun(self.run_dir))

