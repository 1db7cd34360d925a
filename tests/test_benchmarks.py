"""Benchmarks run: each script below on its smallest budget, its last stdout line its whole
JSON result, so a change that breaks a benchmark fails here instead of in a later session.

Each runs as a user runs it (``python benchmarks/NAME.py ...``) against a cache of its own
that shares the downloads (MNIST, wheels, ONNX files) but holds the tests' 1-epoch LeNet as
the default ``mnist-lenet``, so no benchmark trains one. Benchmarks whose smallest run still
takes a minute or more (the multi-seed studies, the ImageNet store and search studies, Ray)
are not here yet.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CONFIGS

from evofool.files.cache import cache_dir

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
SMOKE = {  # script: its smallest budget ("RUN": a finished 3-generation screened run)
    "checkpoint_cost.py": ["--warmup", "1", "--between", "1", "--configs", "mnist_cppn.yaml"],
    "cppn_render.py": ["--repeats", "1"],
    "cppn_render_imagenet.py": ["--rounds", "2", "--repeats", "1"],
    "cppn_stall.py": ["--probe-at", "3", "--children", "50", "--max-generations", "6"],
    "engine_chunks.py": ["--model", "mnist-lenet", "--images", "8", "--chunks", "4", "8",
                         "--repeats", "1", "--engines", "torch", "onnxruntime-int8"],
    "engines.py": ["--models", "mnist-lenet", "--repeats", "1", "--images", "8"],
    "evaluator.py": ["--images", "64", "--repeats", "1"],
    "gpu.py": [],
    "memory.py": ["--generations", "20"],
    "overhead.py": ["--generations", "3", "--warmup", "1", "--repeats", "1"],
    "reproduce_mnist.py": ["--seeds", "0", "--max-generations", "3"],
    "screen.py": ["RUN", "--generations", "2", "--engine", "torch-bf16", "--margins", "0.5"],
    "outcome_bounds.py": ["--seeds", "1"],
}


@pytest.fixture(scope="module")
def benchmark_env(tmp_path_factory, trained_lenet):
    """The environment the scripts run in: a cache sharing the real one's downloads, with
    the tests' LeNet as the default model, and a small screened run for screen.py."""
    cache = tmp_path_factory.mktemp("benchmark-cache")
    for shared in ("mnist", "wheels", "onnx", "torchvision"):
        (cache_dir() / shared).mkdir(parents=True, exist_ok=True)
        (cache / shared).symlink_to(cache_dir() / shared)
    (cache / "models").mkdir()
    shutil.copy(trained_lenet["path"], cache / "models" / "mnist-lenet.pt")
    env = {**os.environ, "EVOFOOL_CACHE": str(cache)}
    run = cache.parent / "screened-run"
    subprocess.run([sys.executable, "-m", "evofool", "run", str(CONFIGS / "mnist_cppn.yaml"),
                    "--out", str(run), "--quiet", "--set", "generations=3",
                    "--set", "evaluator.screen={engine: torch-bf16}"],
                   env=env, check=True, capture_output=True)
    return env, run


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(SMOKE))
def test_benchmark_runs_and_ends_with_its_whole_json_result(script, benchmark_env, tmp_path):
    env, run = benchmark_env
    args = [str(run) if arg == "RUN" else arg for arg in SMOKE[script]]
    result = subprocess.run([sys.executable, str(BENCHMARKS / script), *args], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    last = json.loads(result.stdout.strip().splitlines()[-1])
    assert isinstance(last, dict) and last, result.stdout[-500:]
