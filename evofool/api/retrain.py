"""``retrain`` and ``Experiment``: the n+1 experiment from Python, on the path
``evofool retrain`` takes (the command line calls ``start_experiment``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evofool.api.configs import config_path
from evofool.api.run import Run
from evofool.api.run_path import quiet_unless
from evofool.errors import EvofoolError
from evofool.files.yaml_files import read_yaml_mapping, set_values
from evofool.models.in_memory import hold_again, model_spec
from evofool.n_plus_one.config import RetrainConfig, retrain_config_from_dict
from evofool.n_plus_one.experiment import RetrainExperiment
from evofool.n_plus_one.store import RetrainStore
from evofool.store.retrain_layout import is_retrain_dir, round_runs

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import nn


def retrain(model: nn.Module | str | Path,
            config: str | Path | Mapping[str, Any] = "mnist_retrain", *,
            data: str | Path | None = None, out: str | Path | None = None,
            progress: bool = True, input_shape: Sequence[int] | None = None,
            class_names: Sequence[str] | None = None, mean: Sequence[float] | None = None,
            std: Sequence[float] | None = None, outputs: str = "logits",
            **settings: Any) -> Experiment:
    """Run the n+1 experiment: rounds of evolving fooling images against the model, adding
    them to a garbage class and retraining; the finished experiment.

    Args:
        model: the round-0 model: a spec or file as ``evofool run`` takes, or a
            ``torch.nn.Module`` fed as ``evofool.evolve`` feeds one (``input_shape``,
            ``class_names``, ``mean``, ``std``, ``outputs``; its classes are the data's, by
            name or in order). A module is fine-tuned (``training.mode: finetune``: evofool
            builds anew only its own architectures); each round's model is saved as the
            module's weights, widened, and resuming in another process needs the module
            again (``Experiment.resume(model=...)``). The module itself is not changed.
        config: a shipped config's name ("mnist_retrain", "folder_retrain"), a path or a dict.
        data: the natural images: "mnist" or an image folder (the config's by default).
        out: the experiment directory, new or empty (default runs/NAME-TIMESTAMP).
        settings: config keys, dotted for sections (``rounds=2``,
            ``**{"evolution.generations": 100}``).

    Example:
        >>> experiment = evofool.retrain("models/photos-cnn.pt", "folder_retrain",
        ...                              data="photos", rounds=2)  # doctest: +SKIP
        >>> experiment.table[-1]["test_accuracy"]  # doctest: +SKIP
        0.97
    """
    spec = model_spec(model, input_shape=input_shape, class_names=class_names, mean=mean,
                      std=std, outputs=outputs)
    values = {**settings, "model": spec, **({} if data is None else {"data": str(data)})}
    raw = dict(config) if isinstance(config, Mapping) else read_yaml_mapping(config_path(config))
    chosen = retrain_config_from_dict(set_values(raw, values))
    with quiet_unless(progress):
        directory, _ = start_experiment(chosen, None if out is None else Path(out),
                                        progress=progress)
    return Experiment(directory)


def start_experiment(config: RetrainConfig, out: Path | None, *,
                     progress: bool) -> tuple[Path, list[dict[str, Any]]]:
    """A new experiment in ``out`` (default runs/NAME-TIMESTAMP), run to its last round:
    its directory and per-round table."""
    directory = out or Path("runs") / f"{config.name}-{datetime.now():%Y%m%d-%H%M%S}"
    experiment = RetrainExperiment.start(config, directory, progress=progress)
    return directory, experiment.run()


class Experiment:
    """An n+1 experiment directory: its per-round table, figure and round runs.

    Raises:
        EvofoolError: ``directory`` is not an n+1 experiment.
    """

    def __init__(self, directory: str | Path) -> None:
        self.run_dir = Path(directory)
        if not is_retrain_dir(self.run_dir):
            raise EvofoolError(f"{self.run_dir} is not an evofool n+1 experiment directory")

    def __repr__(self) -> str:
        return f"Experiment({str(self.run_dir)!r}, rounds done={len(self.table)})"

    @property
    def table(self) -> list[dict[str, Any]]:
        """One row per round done: fooled classes, median confidence, test accuracy, garbage
        added, held-out measures (rounds.csv's columns)."""
        return _rounds(self.run_dir)[0]

    def runs(self) -> list[Run]:
        """Each round's evolution run, in round order."""
        return [Run(path) for _, path in round_runs(self.run_dir)]

    def figure(self) -> Figure:
        """The rounds figure (``rounds.png``): what retraining did, round by round."""
        from evofool.analysis.figure_style import shown_inline

        return shown_inline(experiment_figures(self.run_dir)["rounds.png"])

    def resume(self, *, model: nn.Module | None = None, progress: bool = True,
               force: bool = False, input_shape: Sequence[int] | None = None,
               mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
               outputs: str = "logits", **settings: Any) -> Experiment:
        """Continue where it stopped; ``rounds=`` may extend it. An experiment started from
        a module object needs that module again in a new process (``model=``, fed as at
        the start: ``input_shape``, by default the experiment's image shape, ``mean``,
        ``std``, ``outputs``)."""
        import json

        if model is not None:
            store = RetrainStore(self.run_dir)
            try:
                recorded = store.get_meta("config")["model"]
                stored = {"image_shape": store.get_meta("image_shape"),
                          "class_names": store.get_meta("class_names")}
            finally:
                store.close()
            hold_again(model, recorded, input_shape=input_shape, mean=mean, std=std,
                       outputs=outputs, **stored)
        overrides = [f"{key}={json.dumps(value)}" for key, value in settings.items()]
        with quiet_unless(progress):
            RetrainExperiment.resume(self.run_dir, overrides, force=force,
                                     progress=progress).run()
        return self


def experiment_figures(directory: Path) -> dict[str, Figure]:
    """An experiment's figures by file name: ``rounds.png``."""
    from evofool.analysis.plots import rounds_figure

    return {"rounds.png": rounds_figure(*_rounds(directory))}


def _rounds(directory: Path) -> tuple[list[dict[str, Any]], int]:
    """The experiment's per-round rows, and how many natural classes it has."""
    store = RetrainStore(directory, read_only=True)
    try:
        return [record.as_row() for record in store.rounds()], len(store.get_meta("class_names"))
    finally:
        store.close()
