"""A classifier's forward (after the resize) as an ONNX file, exported once and cached.

Why the resize stays outside: the classifiers resize with antialiasing
(``aten::_upsample_bilinear2d_aa``), which the TorchScript-based exporter
cannot express; everything after it (normalisation, network, softmax) exports
in seconds for LeNet, EfficientNet-Lite0 and the torchvision ResNets. Configs
that draw at the model's own size skip the resize altogether.
"""

from __future__ import annotations

import hashlib
import io
import sys
import warnings
from pathlib import Path

import torch

from evofool.errors import EvofoolError, first_line
from evofool.files.atomic import write_atomically
from evofool.files.cache import cache_dir
from evofool.models.classifier import Classifier, private_copy
from evofool.models.fingerprint import model_fingerprint

OPSET = 18
INPUT_NAME = "images"


class EngineError(EvofoolError):
    """A model an engine cannot run, or an engine whose results differ from torch's."""


class _AtModelSize(torch.nn.Module):
    """What gets exported: Classifier.probabilities_at_model_size (normalisation, network,
    softmax) of a private copy of the network, written so that TorchScript can compile it:
    a TorchScript network (a user's own model) cannot be traced from an eager wrapper, so
    for one the wrapper is scripted and its graph exported as it stands."""

    def __init__(self, classifier: Classifier) -> None:
        super().__init__()
        self.network = private_copy(classifier.network, device="cpu", dtype=torch.float32).eval()
        self.normalise = not classifier._identity_preprocessing
        self.register_buffer("scale", classifier._scale.detach().cpu().clone())
        self.register_buffer("shift", classifier._shift.detach().cpu().clone())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.normalise:
            images = torch.addcmul(self.shift, images, self.scale)
        return torch.softmax(self.network(images).float(), dim=-1)

    def exportable(self) -> torch.nn.Module:
        if isinstance(self.network, torch.jit.ScriptModule):
            return torch.jit.script(self)
        return self


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
    print(f"evofool: exporting {classifier.name} to ONNX for the onnxruntime engine (once; "
          f"cached in {path.parent})", file=sys.stderr, flush=True)
    head = _AtModelSize(classifier).eval().exportable()
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
