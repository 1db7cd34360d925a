"""``evolve`` and ``open_run``: a run started or read from Python, on the same path as
``evofool run`` (evofool.api.run_path)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from evofool.api.configs import run_config
from evofool.api.retrain import Experiment
from evofool.api.run import Run
from evofool.api.run_path import quiet_unless, start_run
from evofool.models.in_memory import model_spec
from evofool.store.retrain_layout import is_retrain_dir


def evolve(model: nn.Module | str | Path, config: str | Path | Mapping[str, Any] | None = None, *,
           out: str | Path | None = None, progress: bool = True,
           input_shape: Sequence[int] | None = None, class_names: Sequence[str] | None = None,
           mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
           outputs: str = "logits", **settings: Any) -> Run:
    """Evolve fooling images for ``model`` and return the finished run.

    Args:
        model: a ``torch.nn.Module`` taking (N, C, H, W) images in [0, 1] (or normalised
            by ``mean`` and ``std``) and giving logits (or ``outputs="probabilities"``), or
            any model spec ``evofool run`` takes ("mnist-lenet", "efficientnet-lite0",
            "torchvision:resnet18", a file). Evolution scores a private copy: the module
            keeps its device, training mode and weights.
        config: a shipped config's name ("mnist_cppn", "imagenet_cppn", ...), a YAML path,
            or a dict; None: the MNIST CPPN config.
        out: the run directory, new or empty (default ``runs/<name>-<timestamp>``).
        progress: a progress bar (tqdm.auto: a widget in Jupyter); False prints nothing.
        input_shape: (channels, height, width) the module takes, where it does not record
            it itself (timm models do: ``pretrained_cfg``).
        class_names: its classes' names, in output order (default "0", "1", ...).
        mean: per-channel mean the module's inputs are normalised with (with ``std``).
        std: per-channel standard deviation, with ``mean``.
        outputs: "logits", or "probabilities" for a module that ends in a softmax.
        settings: config keys, as ``--set`` overrides them: ``generations=50``,
            ``encoding={"type": "direct"}``, or dotted as ``**{"evaluator.engine": "torch"}``.

    Example:
        >>> net = MyNet()  # (N, 1, 28, 28) images in [0, 1] -> 10 logits  # doctest: +SKIP
        >>> run = evofool.evolve(net, "mnist_cppn", input_shape=(1, 28, 28),
        ...                      generations=50)  # doctest: +SKIP
        >>> run.montage()  # doctest: +SKIP

    Raises:
        EvofoolError (ConfigError, ModelLoadError, ...): what ``evofool run`` refuses in one
            line; a run interrupted (Ctrl-C, a kernel interrupt) returns, resumable.
    """
    spec = model_spec(model, input_shape=input_shape, class_names=class_names, mean=mean,
                      std=std, outputs=outputs)
    chosen = run_config(config, {**settings, "model": spec})
    with quiet_unless(progress):
        run_dir, _ = start_run(chosen, None if out is None else Path(out), progress=progress,
                               bar=True)
    return Run(run_dir)


def open_run(run_dir: str | Path) -> Run | Experiment:
    """An existing run (a ``Run``) or n+1 experiment (an ``Experiment``), to read, plot,
    export or resume.

    Example:
        >>> run = evofool.open_run("runs/mnist-cppn-20261207-120000")  # doctest: +SKIP
        >>> run.images().shape  # doctest: +SKIP
        torch.Size([10, 1, 28, 28])

    Raises:
        EvofoolError: neither.
    """
    path = Path(run_dir)
    return Experiment(path) if is_retrain_dir(path) else Run(path)
