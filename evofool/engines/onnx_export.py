"""A classifier's forward (after the resize) as an ONNX file, exported once and cached.

Why the resize stays outside: the classifiers resize with antialiasing
(``aten::_upsample_bilinear2d_aa``), which the TorchScript-based exporter
cannot express; everything after it (normalisation, network, softmax) exports
in seconds for LeNet, EfficientNet-Lite0 and the torchvision ResNets. Configs
that draw at the model's own size skip the resize altogether.
"""

from __future__ import annotations

import copy
import hashlib
import io
import warnings
from pathlib import Path

import torch

from evofool.atomic_files import write_atomically
from evofool.cache import cache_dir
from evofool.errors import EvofoolError, first_line
from evofool.models.classifier import Classifier
from evofool.models.fingerprint import model_fingerprint

OPSET = 18
INPUT_NAME = "images"


class EngineError(EvofoolError):
    """A model an engine cannot run, or an engine whose results differ from torch's."""


class _AtModelSize(torch.nn.Module):
    """What gets exported: normalisation, network and softmax of a private copy."""

    def __init__(self, classifier: Classifier) -> None:
        super().__init__()
        self.classifier = Classifier(copy.deepcopy(classifier.network).cpu().float(),
                                     input_spec=classifier.input_spec,
                                     class_names=classifier.class_names, name=classifier.name)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.classifier.probabilities_at_model_size(images)


def onnx_path(classifier: Classifier) -> Path:
    """Where the export lives: keyed by the weights, the input spec, torch and the opset."""
    spec = classifier.input_spec
    key = hashlib.sha256("|".join([model_fingerprint(classifier.network), repr(spec),
                                   torch.__version__, str(OPSET)]).encode()).hexdigest()
    shape = "x".join(map(str, spec.shape))
    return cache_dir() / "onnx" / f"{shape}-{key[:20]}.onnx"


def export_onnx(classifier: Classifier) -> Path:
    """The cached ONNX file for ``classifier``, exporting it on first use.

    The exporter runs on a copy in eval mode: it puts the module it exports back
    into the training mode that module had, which for a fresh wrapper would
    leave BatchNorm layers updating their statistics.

    Raises:
        EngineError: the exporter cannot express the model (naming the operator).
    """
    path = onnx_path(classifier)
    if path.exists():
        return path
    head = _AtModelSize(classifier).eval()
    example = torch.zeros(2, *classifier.input_spec.shape)
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings():  # "legacy exporter" deprecation: it is the one that works
            warnings.simplefilter("ignore")
            torch.onnx.export(head, (example,), buffer, dynamo=False, opset_version=OPSET,
                              input_names=[INPUT_NAME], output_names=["probabilities"],
                              dynamic_axes={INPUT_NAME: {0: "batch"},
                                            "probabilities": {0: "batch"}})
    except Exception as error:
        raise EngineError(f"{classifier.name} cannot be exported to ONNX: {first_line(error)}; "
                          "use --set evaluator.engine=torch") from error
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, buffer.getvalue())
    return path
