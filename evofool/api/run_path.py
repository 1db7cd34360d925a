"""The one path a run takes, from the command line (``evofool run``, ``evofool resume``) and
from Python (``evofool.evolve``, ``Run.resume``): directory checks, the job, its progress."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from evofool.models.in_memory import hold_again
from evofool.run.config import RunConfig
from evofool.run.directory import RunDirectory, new_run_path
from evofool.run.job import EvolutionJob
from evofool.store import is_run_dir


def start_run(config: RunConfig, out: Path | None, *, progress: bool,
              bar: bool = False) -> tuple[Path, dict[str, Any]]:
    """A new run of ``config`` in ``out`` (default runs/NAME-TIMESTAMP), evolved until it
    stops: its directory and summary. ``bar``: a tqdm.auto bar even where stderr is no
    terminal (a notebook)."""
    run_dir = new_run_path(config.name, out)
    RunDirectory.check_unused(run_dir, is_kind=is_run_dir, kind="run")
    job = EvolutionJob.start(config, run_dir, progress=progress, bar=bar)
    return run_dir, job.run()


def resume_run(run_dir: Path, overrides: Sequence[str] = (), *, model: nn.Module | None = None,
               input_shape: Sequence[int] | None = None, mean: Sequence[float] | None = None,
               std: Sequence[float] | None = None, outputs: str = "logits",
               progress: bool = True, force: bool = False, bar: bool = False) -> dict[str, Any]:
    """Continue a run until it stops again: its summary. ``model`` (fed as at the start:
    ``input_shape``, by default the run's image shape, ``mean``, ``std``, ``outputs``): the
    module a run made from a model object needs again.

    Raises:
        RunAlreadyFinished: its stop conditions are met (``overrides`` may move them).
        EvofoolError: what ``evofool resume`` refuses.
    """
    if model is not None:
        from evofool.run.stored import StoredRun

        stored = StoredRun(run_dir)
        stored.close()
        hold_again(model, stored.model, image_shape=stored.image_shape,
                   class_names=stored.class_names, input_shape=input_shape, mean=mean, std=std,
                   outputs=outputs)
    job = EvolutionJob.resume(run_dir, list(overrides), force=force, progress=progress,
                              bar=bar)
    return job.run()


@contextlib.contextmanager
def quiet_unless(progress: bool) -> Iterator[None]:
    """The run's messages (screen choice, resuming, ...) go to stderr as on the command line;
    with ``progress=False`` nothing is printed."""
    if progress:
        yield
        return
    with contextlib.redirect_stderr(io.StringIO()):
        yield
