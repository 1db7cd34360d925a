"""Shared fixtures: a real trained LeNet (one short epoch) and helpers to run the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from background_runs import background_runs_started
from example_algorithm import StickyParents, StickySettings
from example_encoding import TilesEncoding, TilesSettings
from example_engine import TORCH_FLOAT64
from PIL import Image

from evofool.algorithms import ALGORITHMS
from evofool.data import MNIST_CLASS_NAMES, load_mnist
from evofool.encodings import ENCODINGS
from evofool.engines.registry import register as register_engine
from evofool.models import Classifier, InputSpec, LeNet
from evofool.models.checkpoint import CheckpointInfo, save_checkpoint
from evofool.run.config import load_config
from evofool.run.job import EvolutionJob
from evofool.training.lenet_training import images_to_tensor, train_lenet

MNIST_SPEC = InputSpec(channels=1, height=28, width=28)

# The one line a new encoding needs besides its module (here one that lives in the tests):
ENCODINGS.register(TilesSettings, TilesEncoding.from_settings)
ALGORITHMS.register(StickySettings, StickyParents)
register_engine(TORCH_FLOAT64)
CONFIGS = Path(__file__).parents[1] / "configs"


FAKE_SHAPE = (3, 12, 12)
FAKE_CLASSES = 5


class FixedProjection(torch.nn.Module):
    """Logits = a fixed random projection of the pixels: smooth, so searches make
    progress, and deterministic without training."""

    def __init__(self) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(0)
        self.weight = torch.nn.Parameter(torch.randn(
            FAKE_CLASSES, FAKE_SHAPE[0] * FAKE_SHAPE[1] * FAKE_SHAPE[2], generator=generator)
            * 0.3)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1) @ self.weight.T


@pytest.fixture(scope="session")
def fake_classifier() -> Classifier:
    """A small deterministic classifier (3x12x12 colour images, 5 classes): no training."""
    return Classifier(FixedProjection(), input_spec=InputSpec(*FAKE_SHAPE),
                      class_names=[f"class {i}" for i in range(FAKE_CLASSES)], name="fake")


@pytest.fixture(scope="session")
def mnist():
    """Real MNIST, from this machine's cache or its first reachable source."""
    return load_mnist()


@pytest.fixture(scope="session")
def trained_lenet(tmp_path_factory, mnist) -> dict:
    """Train LeNet for one epoch through the real CLI; returns its final JSON line.

    On one thread: as fast here as on two for half the CPU (60,000 digits in ~14 s on a
    2-core AMD EPYC Zen 5), while the background runs that need no LeNet use the other."""
    out = tmp_path_factory.mktemp("models") / "lenet.pt"
    result = run_cli("train", "mnist-lenet", "--epochs", "1", "--out", str(out),
                     env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


BACKGROUND_TESTS = ("test_benchmarks.py", "test_tutorials.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests of what runs in the background last: the benchmarks' smoke runs and the
    tutorials go on from the session's first test (``background_runs``), and the rest of
    the suite runs beside them instead of waiting for them."""
    items.sort(key=lambda item: item.path.name in BACKGROUND_TESTS)  # stable: else as collected


@pytest.fixture(scope="session", autouse=True)
def background_runs(request, tmp_path_factory):
    """The benchmarks' smoke runs and the tutorials (tests/background_runs.py), started with
    the session where any of their tests will read them: name -> its finished process."""
    if not any(item.path.name in BACKGROUND_TESTS for item in request.session.items):
        yield {}
        return
    with background_runs_started(tmp_path_factory.mktemp("background")) as (runs, lenet_trained):
        lenet_trained(Path(request.getfixturevalue("trained_lenet")["path"]))
        yield runs


@pytest.fixture(scope="session")
def small_lenets(tmp_path_factory, mnist) -> list[Path]:
    """Two LeNets trained from different seeds on 6,000 digits (about 1 s each, ~95%)."""
    folder = tmp_path_factory.mktemp("small-lenets")
    paths = []
    for seed in (1, 2):
        network = train_lenet(images_to_tensor(mnist.train_images[:6000]),
                              torch.from_numpy(mnist.train_labels[:6000]).long(),
                              num_classes=10, epochs=1, seed=seed, progress=False)
        info = CheckpointInfo(class_names=MNIST_CLASS_NAMES, input_spec=MNIST_SPEC,
                              test_accuracy=None, seed=seed, epochs=1)
        paths.append(folder / f"lenet-seed{seed}.pt")
        save_checkpoint(network, info, paths[-1])
    return paths


@pytest.fixture(scope="session")
def tiny_cppn_run(tmp_path_factory, trained_lenet) -> Path:
    """A finished 30-generation MNIST CPPN run against the trained LeNet."""
    run_dir = tmp_path_factory.mktemp("runs") / "tiny-cppn"
    config = load_config(CONFIGS / "mnist_cppn.yaml",
                         ["generations=30", f"model={trained_lenet['path']}"])
    EvolutionJob.start(config, run_dir, progress=False).run()
    return run_dir


@pytest.fixture(scope="session")
def thousand_class_run(tmp_path_factory) -> Path:
    """One generation against a random 1000-class linear model on 28x28 grayscale:
    every class gets a champion, as an ImageNet run's gallery would hold."""
    folder = tmp_path_factory.mktemp("thousand")
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 1000)).eval()
    torch.jit.script(network).save(str(folder / "wide.pt"))
    (folder / "wide.json").write_text(json.dumps({
        "input_spec": {"channels": 1, "height": 28, "width": 28},
        "class_names": [f"class {index}" for index in range(1000)]}))
    config = load_config(CONFIGS / "mnist_cppn.yaml",
                         ["generations=1", f"model={folder / 'wide.pt'}"])
    EvolutionJob.start(config, folder / "wide-run", progress=False).run()
    return folder / "wide-run"


RETRAIN_CONFIG = CONFIGS / "mnist_retrain.yaml"
COLOURS = ((40, 40, 200), (40, 200, 40), (200, 40, 40))


def rgb_folder(root, per_class=30, seed=0, names=("blue", "green", "red")):
    """An image folder of three classes of noisy colour fields (blue, green and red, under
    ``names``) at mixed sizes, which the loader resizes."""
    rng = np.random.default_rng(seed)
    for name, colour in zip(names, COLOURS, strict=True):
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            size = (18 + index % 5, 20 + index % 3)
            pixels = np.clip(np.array(colour) + rng.normal(0, 30, (*size, 3)), 0, 255)
            Image.fromarray(pixels.astype(np.uint8)).save(root / name / f"{index:03d}.png")
    return root


def tiny_retrain_overrides(model) -> list[str]:
    """Two rounds of the n+1 experiment in seconds: short runs, 3,000 digits, one epoch,
    accuracy and held-out AUROC on 2,000 test digits, held-out detectors fit on 2,000;
    scored on ONNX Runtime, not ``auto`` (no engine timing per round's model)."""
    return ["rounds=2", f"model={model}", "evolution.generations=12",
            "evolution.evaluator.engine=onnxruntime",
            "evolution.algorithm.batch_size=60", "evolution.checkpoint.every_generations=4",
            "training.epochs=1", "training.natural_images=3000", "training.test_images=2000",
            "garbage.per_round=40", "held_out.fit_images=2000"]


@pytest.fixture(scope="session")
def tiny_retrain(tmp_path_factory, small_lenets):
    """Two rounds through the real CLI, uninterrupted: (directory, final JSON line)."""
    directory = tmp_path_factory.mktemp("retrain") / "exp"
    args = ["retrain", str(RETRAIN_CONFIG), "--out", str(directory), "--quiet"]
    for override in tiny_retrain_overrides(small_lenets[0]):
        args += ["--set", override]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    return directory, json.loads(result.stdout.splitlines()[-1])


@pytest.fixture
def random_lenet() -> Classifier:
    torch.manual_seed(0)
    return Classifier(LeNet(), input_spec=MNIST_SPEC, class_names=[str(i) for i in range(10)],
                      name="random-lenet")


@pytest.fixture
def cli():
    """Run the ``evofool`` command line with ARGS in this process, its output captured: the
    same parser, handlers and one-line errors as ``python -m evofool``, without the second
    or two each new process spends importing torch. (Tests of what only a process shows,
    signals, kills, a fresh process's numerics, start ``python -m evofool`` themselves.)"""
    return run_in_process


def refused_in_one_line(result: subprocess.CompletedProcess, message: str) -> None:
    """A user mistake: exit 2 and one line of stderr that says ``message``."""
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, \
        result.stderr


def run_in_process(*args: str) -> subprocess.CompletedProcess:
    from evofool.cli.main import run_captured

    return run_captured(list(args))


@pytest.fixture
def skimage_photo():
    """Path of one of scikit-image's bundled sample photos."""
    skimage_data = pytest.importorskip("skimage.data")
    return lambda name: Path(skimage_data.__file__).parent / name


def browser_client(roots):
    """The archive browser over ``roots``, reached as http://localhost (it answers only for
    the host names it is served under)."""
    from starlette.testclient import TestClient

    from evofool.browse import create_app

    return TestClient(create_app(list(roots)), base_url="http://localhost")


def run_cli(*args: str, timeout: float = 300, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evofool", *args], capture_output=True,
                          text=True, timeout=timeout, env=dict(os.environ) if env is None else env)
