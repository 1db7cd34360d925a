"""Benchmarks run: each script below on its smallest budget, its last stdout line its whole
JSON result, so a change that breaks a benchmark fails here instead of in a later session.

Each runs as a user runs it (``python benchmarks/NAME.py ...``) against a cache of its own
that shares the downloads (MNIST, wheels, ONNX files) but holds the tests' 1-epoch LeNet as
the default ``mnist-lenet``, so no benchmark trains one. Every script in benchmarks/ is here,
the studies on budgets of seconds, or in NOT_YET with the reason (a test says so).
"""

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import CONFIGS

from evofool.files.cache import cache_dir

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
MNIST = str(CONFIGS / "mnist_cppn.yaml")
# Overrides that make an ImageNet config's run a few seconds: 8 children, torch, no screen.
TINY_IMAGENET = ["algorithm.batch_size=8", "evaluator.engine=torch", "evaluator.screen=null"]
SMOKE = {  # script (":label" for a second way to run it): its smallest budget ("RUN": a
    # finished 3-generation screened run, "LENET": the tests' LeNet)
    "checkpoint_cost.py": ["--warmup", "1", "--between", "1", "--configs", "mnist_cppn.yaml"],
    "cppn_render.py": ["--repeats", "1"],
    "cppn_render_imagenet.py": ["--rounds", "2", "--repeats", "1"],
    "cppn_stall.py": ["--probe-at", "3", "--children", "50", "--max-generations", "6"],
    "engine_chunks.py": ["--model", "mnist-lenet", "--images", "8", "--chunks", "4", "8",
                         "--repeats", "1", "--engines", "torch", "onnxruntime-int8"],
    "engines.py": ["--models", "mnist-lenet", "--repeats", "1", "--images", "8"],
    "engines.py:resolutions": ["--models", "torchvision:mobilenet_v3_small@random", "--repeats",
                               "1", "--images", "4", "--resolutions", "160"],
    "evaluator.py": ["--images", "64", "--repeats", "1"],
    "gpu.py": [],
    "memory.py": ["--generations", "20"],
    "overhead.py": ["--generations", "3", "--warmup", "1", "--repeats", "1"],
    "reproduce_mnist.py": ["--seeds", "0", "--max-generations", "3"],
    "screen.py": ["RUN", "--generations", "2", "--engine", "torch-bf16", "--margins", "0.5"],
    "outcome_bounds.py": ["--seeds", "1"],
    "defenses_mnist.py": ["--seeds", "0", "--generations", "2", "--rounds", "1", "--parallel",
                          "1", "--out", "defenses", "--encodings", "cppn", "--second-lenet",
                          "LENET", "--natural-images", "200", "--min-confidence", "0", "--run-set",
                          "algorithm.batch_size=20", "--run-set", "generations=2",
                          *[f"--retrain-set={override}" for override in (
                              "evolution.generations=2", "training.epochs=1",
                              "training.natural_images=500", "garbage.per_round=10")]],
    "imagenet.py": ["--device", "cpu", "--batch", "8", "--generations", "1", "--warmup", "1",
                    "--encodings", "cppn"],
    "imagenet_run.py": ["--minutes", "0.05", "--every-minutes", "0.02", "--out", "run",
                        *[f"--set={override}" for override in TINY_IMAGENET]],
    "imagenet_search.py": ["--evaluations", "16", "--seeds", "0", "--parallel", "1",
                           "--out", "search", "--variant",
                           "default=" + ",".join([str(CONFIGS / "imagenet_cppn.yaml"),
                                                  *TINY_IMAGENET])],
    "ood_evasion.py": ["--generations", "2", "--seeds", "0", "--detectors", "energy",
                       "--out", "evasion"],
    "ood_mnist.py": ["--generations", "2", "--seeds", "0", "--out", "ood", "--fit-images",
                     "1000"],
    "ray_scaling.py": ["--config", MNIST, "--actors", "1", "--generations", "1", "--nodes", "1",
                       "--set", "evaluator.screen={engine: torch-bf16, when: always}"],
    "retrain_mnist.py": ["--out", "retrain", *[f"--set={override}" for override in (
        "rounds=1", "evolution.generations=2", "training.epochs=1",
        "training.natural_images=500", "held_out.enabled=false", "garbage.per_round=10")]],
    "retrain_rgb.py": ["--out", "retrain-rgb", "--per-class", "10", "--epochs", "1",
                       *[f"--set={override}" for override in (
                           "rounds=1", "evolution.generations=2", "training.epochs=1",
                           "held_out.enabled=false", "garbage.per_round=10")]],
    "retrain_rgb.py:imagenet-model": [
        "--out", "retrain-imagenet", "--per-class", "5", "--model",
        "torchvision:mobilenet_v3_small@random", *[f"--set={override}" for override in (
            "rounds=1", "evolution.generations=2", "evolution.algorithm.batch_size=20",
            "evolution.evaluator.engine=torch",
            "training.epochs=1", "training.layers=head", "held_out.enabled=false",
            "garbage.threshold=0.001", "garbage.per_round=10")]],
    "store_growth.py": ["--model", "mnist-lenet", "--warmup", "1", "--measure", "1",
                        "--cases", "mnist_direct.yaml:all"],
    "transfer_mnist.py": ["--generations", "2", "--model-b", "LENET"],
    "vs_pyribs.py": ["--evaluations", "400"],
}


# Two scripts run at once, one torch thread each: much of a smoke run is a new process
# importing torch and loading a model on one core, so two overlap (2-core AMD EPYC Zen 5:
# the 28 smoke runs took 197 s one after another, 210 s two at once with two threads
# each, 136 s two at once with one thread each).
AT_ONCE = 2


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory, trained_lenet) -> dict[str, Future]:
    """Every script's smoke run, started now, ``AT_ONCE`` at a time in the order the tests
    ask for them, each in a directory of its own: script -> its finished process.

    They run against a cache sharing the real one's downloads, with the tests' LeNet as
    the default model; screen.py reads a small screened run, made first."""
    cache = tmp_path_factory.mktemp("benchmark-cache")
    for shared in ("mnist", "wheels", "onnx", "torchvision"):
        (cache_dir() / shared).mkdir(parents=True, exist_ok=True)
        (cache / shared).symlink_to(cache_dir() / shared)
    (cache / "models").mkdir()
    lenet = cache / "models" / "mnist-lenet.pt"
    shutil.copy(trained_lenet["path"], lenet)
    env = {**os.environ, "EVOFOOL_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    run = cache.parent / "screened-run"

    def screened_run() -> None:
        subprocess.run([sys.executable, "-m", "evofool", "run",
                        str(CONFIGS / "mnist_cppn.yaml"), "--out", str(run), "--quiet",
                        "--set", "generations=3", "--set", "evaluator.engine=torch",
                        "--set", "evaluator.screen={engine: torch-bf16}"],
                       env=env, check=True, capture_output=True)

    def smoke(script: str) -> subprocess.CompletedProcess:
        if "RUN" in SMOKE[script]:
            made.result()
        args = [{"RUN": str(run), "LENET": str(lenet)}.get(arg, arg) for arg in SMOKE[script]]
        workdir = tmp_path_factory.mktemp("smoke")
        return subprocess.run([sys.executable, str(BENCHMARKS / script.split(":")[0]), *args],
                              cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=600)

    with ThreadPoolExecutor(AT_ONCE) as pool:
        made = pool.submit(screened_run)  # first, so a script that waits for it cannot
        # hold the pool's last worker while it waits in the queue
        yield {script: pool.submit(smoke, script) for script in sorted(SMOKE)}


# Smoke runs that take over 20 s on a 2-core Zen 5, and why.
SLOW = {"defenses_mnist.py": "18 runs, a one-round n+1 experiment and 9 defend reports",
        "imagenet.py": "EfficientNet-Lite0 exported, its engines and screens timed, then run"}


@pytest.mark.parametrize("script", [
    pytest.param(script, marks=pytest.mark.slow(SLOW[script])) if script in SLOW else script
    for script in sorted(SMOKE)])
def test_benchmark_runs_and_ends_with_its_whole_json_result(script, smoke_runs):
    result = smoke_runs[script].result()
    assert result.returncode == 0, result.stderr[-2000:]
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(last, dict) and last, result.stdout[-500:]


# Benchmarks without a smoke budget yet, and why: listed, so that none is left out silently.
NOT_YET: dict[str, str] = {}


def test_every_benchmark_has_a_smoke_budget():
    """A new benchmark is run here the day it is added (or listed in NOT_YET with why)."""
    scripts = {path.name for path in BENCHMARKS.glob("*.py")
               if 'if __name__ == "__main__":' in path.read_text()}  # not the helpers
    smoked = {script.split(":")[0] for script in SMOKE}
    assert scripts == smoked | set(NOT_YET), sorted(scripts ^ (smoked | set(NOT_YET)))
    assert not set(SMOKE) & set(NOT_YET)
