import pytest
import torch

from evofool.errors import EvofoolError
from evofool.evaluation.devices import resolve_device


def test_auto_picks_cuda_only_when_present():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected


def test_cpu_is_always_available():
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("name", ["tpu", "gpu", "cuda:x", "", "CPU"])
def test_unknown_device_names_raise(name):
    with pytest.raises(EvofoolError, match="unknown device"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_raises():
    with pytest.raises(EvofoolError, match="CUDA is not available"):
        resolve_device("cuda")
