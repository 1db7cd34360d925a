"""Shared fixtures: a real trained LeNet (one short epoch) and helpers to run the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from evofool.data import load_mnist
from evofool.models import Classifier, InputSpec, LeNet

MNIST_SPEC = InputSpec(channels=1, height=28, width=28)


@pytest.fixture(scope="session")
def mnist():
    """Real MNIST, from this machine's cache or its first reachable source."""
    return load_mnist()


@pytest.fixture(scope="session")
def trained_lenet(tmp_path_factory, mnist) -> dict:
    """Train LeNet for one epoch through the real CLI; returns its final JSON line."""
    out = tmp_path_factory.mktemp("models") / "lenet.pt"
    result = run_cli("train", "mnist-lenet", "--epochs", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture
def random_lenet() -> Classifier:
    torch.manual_seed(0)
    return Classifier(LeNet(), input_spec=MNIST_SPEC, class_names=[str(i) for i in range(10)],
                      name="random-lenet")


@pytest.fixture
def cli():
    """Run ``python -m evofool ARGS`` in a subprocess, as a user would."""
    return run_cli


@pytest.fixture
def skimage_photo():
    """Path of one of scikit-image's bundled sample photos."""
    skimage_data = pytest.importorskip("skimage.data")
    return lambda name: Path(skimage_data.__file__).parent / name


def run_cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evofool", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ))
