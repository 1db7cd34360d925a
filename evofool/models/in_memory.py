"""Models handed over as Python objects (``evofool.evolve(net)``), under a spec like any other.

A run records its model as a spec string, and everything that loads a model goes through
``load_classifier(spec)``. A module from a notebook has no file, so it is held here, in this
process, under ``module:NAME`` (its class name), and loading that spec returns it. The
fingerprint a run records (evofool.models.fingerprint) is what ties a run to its weights: a
resume registers the module it is given under the run's spec, and the fingerprint check
refuses a different one.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from evofool.errors import EvofoolError, ModelLoadError
from evofool.models.classifier import Classifier, private_copy, probe_num_outputs
from evofool.models.input_spec import InputSpec

MODULE_PREFIX = "module:"

_HELD: dict[str, Classifier] = {}


def is_module_spec(spec: str) -> bool:
    return spec.startswith(MODULE_PREFIX)


def module_classifier(module: nn.Module, *, input_shape: Sequence[int] | None = None,
                      class_names: Sequence[str] | None = None,
                      mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
                      outputs: str = "logits", resize: bool | None = None) -> Classifier:
    """A Classifier over a private CPU copy of ``module`` in eval mode: the caller's module
    keeps its device, training mode and weights.

    The input shape, mean and std come from the arguments, else from the module where timm
    records them (``pretrained_cfg``); class names from the argument, else "0".."K-1".

    Raises:
        EvofoolError: no input shape given or recorded, bad normalisation, ``outputs`` not
            "logits" or "probabilities", or a module that fails on an input of that shape
            or gives another number of outputs than class names.
    """
    if not isinstance(module, nn.Module):
        raise EvofoolError(f"model must be a torch.nn.Module or a model spec string, not "
                           f"{type(module).__name__}")
    if outputs not in ("logits", "probabilities"):
        raise EvofoolError(f"outputs must be 'logits' or 'probabilities', not {outputs!r}")
    recorded = getattr(module, "pretrained_cfg", None) or {}
    shape = tuple(input_shape or recorded.get("input_size") or ())
    if len(shape) != 3:
        raise EvofoolError(f"{type(module).__name__}: give input_shape=(channels, height, "
                           "width); the module does not record one")
    if input_shape is None:  # the shape it records: its normalisation too, unless given
        mean = recorded.get("mean") if mean is None else mean
        std = recorded.get("std") if std is None else std
    try:
        spec = InputSpec(channels=int(shape[0]), height=int(shape[1]), width=int(shape[2]),
                         mean=None if mean is None else tuple(float(v) for v in mean),
                         std=None if std is None else tuple(float(v) for v in std),
                         resize=bool(recorded) if resize is None else resize)
    except (ValueError, TypeError) as error:
        raise EvofoolError(f"{type(module).__name__}: {error}") from error
    network = private_copy(module, device="cpu").eval()
    network.requires_grad_(False)
    if outputs == "probabilities":
        network = _ProbabilitiesAsLogits(network)
    # the name tells modules of one class apart by how they are fed, which the weights'
    # fingerprint does not see: a resume handed other settings gets another name, refused
    settings = json.dumps([spec.to_dict(), outputs], sort_keys=True)
    name = (f"{MODULE_PREFIX}{type(module).__name__}-"
            f"{hashlib.sha256(settings.encode()).hexdigest()[:8]}")
    width = probe_num_outputs(network, spec, name)
    names = [str(index) for index in range(width)] if class_names is None else list(class_names)
    if width != len(names):
        raise ModelLoadError(f"{name} outputs {width} classes but has {len(names)} class names")
    return Classifier(network, input_spec=spec, class_names=names, name=name)


class _ProbabilitiesAsLogits(nn.Module):
    """A network that ends in a softmax, as one that gives logits: the log of its
    probabilities, whose softmax is those probabilities again."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.network = network

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images).float().clamp_min(1e-30).log()


def model_spec(model: nn.Module | str | Path, **fed: Any) -> str:
    """``model`` as the spec every loader takes: a spec or file as given, a module held in
    this process (``fed``: ``module_classifier``'s input_shape, class_names, mean, std,
    outputs).

    Raises:
        EvofoolError: as ``module_classifier``.
    """
    if isinstance(model, (str, Path)):
        return str(model)
    return hold(module_classifier(model, **fed))


def hold(classifier: Classifier, recorded: str | None = None) -> str:
    """Hold ``classifier`` in this process under its name, which ``held`` then answers, and
    return it; ``recorded``: the name a run recorded, which it must be.

    Raises:
        EvofoolError: ``recorded`` is another name: another class of module, or the same
            fed differently (input shape, normalisation, outputs).
    """
    if recorded is not None and recorded != classifier.name:
        raise EvofoolError(f"the run was made from {recorded}, not {classifier.name}: hand "
                           "resume the same module with the same input_shape, mean, std "
                           "and outputs")
    _HELD[classifier.name] = classifier
    return classifier.name


def hold_again(module: nn.Module, recorded: str, *, image_shape: Sequence[int],
               class_names: Sequence[str], input_shape: Sequence[int] | None = None,
               mean: Sequence[float] | None = None, std: Sequence[float] | None = None,
               outputs: str = "logits") -> None:
    """Hold the module a run or experiment made from a module object needs to resume in a
    new process: fed as at the start (``input_shape``, by default the stored
    ``image_shape``; the stored ``class_names``), under the name it ``recorded``.

    Raises:
        EvofoolError: as ``module_classifier``; another module, or the same fed otherwise.
    """
    hold(module_classifier(module, input_shape=input_shape or image_shape,
                           class_names=class_names, mean=mean, std=std, outputs=outputs),
         recorded)


def held(spec: str) -> Classifier:
    """The classifier held under ``spec``, a copy without an engine attached.

    Raises:
        ModelLoadError: none held in this process (the run was made from a model object
            in another process: its resume must be handed the module again).
    """
    try:
        classifier = _HELD[spec]
    except KeyError:
        raise ModelLoadError(
            f"{spec} is a model object handed to evofool from Python, and this process holds "
            "none under that name; resume with evofool.open_run(RUN_DIR).resume(model=MODULE)"
        ) from None
    # as a model file loads afresh each time: what a caller attaches (an engine) stays its
    # own, and a copy travels to a Ray actor without one. The weights are shared, unchanged.
    fresh = copy.copy(classifier)
    fresh.engine = None
    return fresh
