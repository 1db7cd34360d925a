"""TorchScript classifiers, whose input spec comes from a sidecar JSON or the caller."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Sequence
from pathlib import Path

import torch

from evofool.errors import ModelLoadError, first_line
from evofool.models.classifier import Classifier, probe_num_outputs
from evofool.models.input_spec import InputSpec


def is_torchscript_archive(path: Path) -> bool:
    """TorchScript archives are zip files with a ``constants.pkl``; plain checkpoints are not."""
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(member.endswith("/constants.pkl") for member in archive.namelist())


def sidecar_path(path: Path) -> Path:
    """``model.pt`` reads its metadata from ``model.json``."""
    return path.with_suffix(".json")


def load_torchscript(path: Path, *, name: str, input_spec: InputSpec | None = None,
                     class_names: Sequence[str] | None = None) -> Classifier:
    """Load a scripted or traced network.

    Args:
        path: the ``.pt`` archive written by ``torch.jit.save``.
        name: the model spec, for records.
        input_spec: overrides the sidecar's ``input_spec``.
        class_names: overrides the sidecar's ``class_names``; without either,
            classes are named by index.

    Raises:
        ModelLoadError: unreadable archive, or no input spec from either place.
    """
    sidecar = sidecar_path(path)
    metadata = {}
    if sidecar.exists():
        try:
            metadata = json.loads(sidecar.read_text())
            if not isinstance(metadata, dict):
                raise TypeError(f"it holds a {type(metadata).__name__}, not an object")
            if input_spec is None and "input_spec" in metadata:
                input_spec = InputSpec.from_dict(metadata["input_spec"])
        except RecursionError:
            raise ModelLoadError(f"bad sidecar {sidecar}: nested too deep") from None
        except (ValueError, TypeError) as error:
            raise ModelLoadError(f"bad sidecar {sidecar}: {first_line(error)}") from error
    if input_spec is None:
        raise ModelLoadError(
            f"TorchScript model {path} needs an input spec: write {sidecar} with "
            '{"input_spec": {"channels": 1, "height": 28, "width": 28}, "class_names": [...]}')
    try:
        network = torch.jit.load(str(path), map_location="cpu")
    except Exception as error:
        raise ModelLoadError(
            f"cannot read TorchScript model {path}: {first_line(error)}") from error
    names = class_names or metadata.get("class_names")
    if names is None:
        names = [str(index) for index in range(probe_num_outputs(network, input_spec, name))]
    return Classifier(network, input_spec=input_spec, class_names=names, name=name)
