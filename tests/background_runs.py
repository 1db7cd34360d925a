"""What the suite runs in the background from its start (conftest.py), at idle CPU
priority, so that the rest of it runs beside them: the benchmarks' smoke runs, every script in
benchmarks/ on its smallest budget as a user runs it (``python benchmarks/NAME.py ...``, in a
process forked from one that has imported torch and evofool: preloaded.py), and the tutorials, each
executed as a notebook on a small budget (tutorial_runner.py).
tests/test_benchmarks.py and tests/test_tutorials.py, collected last, read their results.

Each runs against a cache of its own that shares the downloads (MNIST, wheels, ONNX files)
but holds the tests' 1-epoch LeNet as the default ``mnist-lenet``, so no benchmark trains one.
"""

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from preloaded import run_python

from evofool.files.cache import cache_dir

CONFIGS = Path(__file__).parents[1] / "configs"
TUTORIALS = Path(__file__).parents[1] / "docs" / "tutorials"
TUTORIAL_BUDGETS = {  # the parameters cell each runs with here, and the figures it shows
    "fool_your_model.py": ({"TRAIN_IMAGES": 3000, "GENERATIONS": 8}, 3),
    "n_plus_1_on_a_folder.py": ({"PER_CLASS": 15, "EPOCHS": 3, "GENERATIONS": 4,
                                 "ROUNDS": 1}, 2),
    "imagenet_on_a_cpu.py": ({"MINUTES": 0.03, "SETTINGS": {
        "algorithm.batch_size": 8, "evaluator.engine": "torch", "evaluator.screen": None}}, 2),
}

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
                          "LENET", "--natural-images", "200", "--min-confidence", "0",
                          *[f"--run-set={override}" for override in (
                              "algorithm.batch_size=20", "generations=2",
                              "evaluator.engine=onnxruntime")],  # no timing per model
                          *[f"--retrain-set={override}" for override in (
                              "evolution.generations=2", "evolution.evaluator.engine=onnxruntime",
                              "training.epochs=1", "training.natural_images=500",
                              "training.test_images=200", "garbage.per_round=10")]],
    "gradient_steps.py": ["RUN", "--parents", "4", "--steps", "0.01", "--resolutions", "0", "8",
                          "--mutants", "2"],
    "imagenet.py": ["--device", "cpu", "--batch", "8", "--generations", "1", "--warmup", "1",
                    "--encodings", "cppn"],
    "imagenet_run.py": ["--minutes", "0.05", "--every-minutes", "0.02", "--out", "run",
                        *[f"--set={override}" for override in TINY_IMAGENET]],
    "imagenet_gradient.py": ["--minutes", "0.04", "--every-minutes", "0.02", "--seeds", "0",
                             "--out", "gradient", "--slots", "4", "--batch", "8",
                             *[f"--set={override}" for override in (
                                 *TINY_IMAGENET, "algorithm.batch_size=8")],
                             "--variant", "gradient=algorithm.gradient={parents: 1, "
                             "children: 4, resolution: 16}"],
    "imagenet_search.py": ["--evaluations", "16", "--seeds", "0", "--parallel", "1",
                           "--out", "search", "--variant",
                           "default=" + ",".join([str(CONFIGS / "imagenet_cppn.yaml"),
                                                  *TINY_IMAGENET])],
    "ood_evasion.py": ["--generations", "2", "--seeds", "0", "--detectors", "energy",
                       "--out", "evasion", "--natural-images", "500"],
    "ood_mnist.py": ["--generations", "2", "--seeds", "0", "--out", "ood", "--fit-images",
                     "1000", "--natural-images", "500"],
    "ray_scaling.py": ["--config", MNIST, "--actors", "1", "--generations", "1", "--nodes", "1",
                       "--set", "evaluator.screen={engine: torch-bf16, when: always}"],
    "retrain_mnist.py": ["--out", "retrain", *[f"--set={override}" for override in (
        "rounds=1", "evolution.generations=2", "training.epochs=1",
        "training.natural_images=500", "training.test_images=200", "held_out.enabled=false",
        "garbage.per_round=10")]],
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


# Two scripts at a time, one torch thread each, beside the rest of the suite: much of a smoke
# run is a new process importing torch and loading a model on one core, and much of the
# suite leaves a core idle (2-core AMD EPYC Zen 5: the 28 smoke runs took 197 s one after
# another with two threads each, 136 s two at once with one thread each, before the rest of
# the suite; see BENCHMARKS.md, "The test suite's time").
AT_ONCE = 2
# At idle priority (SCHED_IDLE, through chrt(1): a preexec_fn is unsafe in a process with
# threads, as pytest's is), so that they take only what the rest of the suite leaves idle.
# Not nice 19: a niced process that wakes from a sleep may still preempt the suite, and a
# notebook kernel's many wakeups made an in-process run of tiny torch ops ten times slower
# (tests/test_api.py's interrupt test, 1.3 s alone, 14 s beside the tutorials).
IDLE_PRIORITY = ["chrt", "--idle", "0"]


# What needs no LeNet (ImageNet models, the tutorials' own networks): these start while the
# suite trains its LeNet, the rest once it is there.
WITHOUT_LENET = ("cppn_render_imagenet.py", "engines.py:resolutions", "gpu.py", "imagenet.py",
                 "imagenet_gradient.py", "imagenet_run.py", "imagenet_search.py",
                 "retrain_rgb.py:imagenet-model")


@contextmanager
def background_runs_started(root: Path) -> Iterator[tuple[dict[str, Future],
                                                          Callable[[Path], None]]]:
    """Every script's smoke run and every tutorial, started now, ``AT_ONCE`` at a time, each
    in a directory of its own under ``root``: (script (or ``tutorials/NAME``) -> its finished
    process (a tutorial's executed notebook is ``notebook.ipynb`` in its ``cwd``), and the
    function to call with the suite's LeNet once it is trained). Runs not yet started when
    the block ends are cancelled.

    They share the real cache's downloads, with that LeNet as the default model (those that
    need it wait for it); screen.py reads a small screened run, made first."""
    cache = root / "benchmark-cache"
    cache.mkdir(parents=True)
    for shared in ("mnist", "wheels", "onnx", "torchvision"):
        (cache_dir() / shared).mkdir(parents=True, exist_ok=True)
        (cache / shared).symlink_to(cache_dir() / shared)
    (cache / "models").mkdir()
    default_lenet = cache / "models" / "mnist-lenet.pt"
    lenet_there = threading.Event()

    def lenet_trained(lenet: Path) -> None:
        shutil.copy(lenet, default_lenet)
        lenet_there.set()

    env = {**os.environ, "EVOFOOL_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    run = root / "screened-run"

    def screened_run() -> None:
        lenet_there.wait()
        made = run_python(["-m", "evofool", "run", str(CONFIGS / "mnist_cppn.yaml"), "--out",
                           str(run), "--quiet", "--set", "generations=3", "--set",
                           "evaluator.engine=torch", "--set",
                           "evaluator.screen={engine: torch-bf16}"],
                          root, env, root / "screened-run-output", idle_priority=True)
        assert made.returncode == 0, made.stderr

    def smoke(script: str) -> subprocess.CompletedProcess:
        if script not in WITHOUT_LENET:
            lenet_there.wait()
        if "RUN" in SMOKE[script]:
            made.result()
        args = [{"RUN": str(run), "LENET": str(default_lenet)}.get(arg, arg)
                for arg in SMOKE[script]]
        workdir = root / script.replace(".py", "").replace(":", "-")
        workdir.mkdir()
        return run_python([str(BENCHMARKS / script.split(":")[0]), *args], workdir, env,
                          workdir, idle_priority=True)

    def tutorial(name: str) -> subprocess.CompletedProcess:
        workdir = root / f"tutorial-{name.removesuffix('.py')}"
        workdir.mkdir()
        return subprocess.run([*IDLE_PRIORITY, sys.executable,
                               str(Path(__file__).parent / "tutorial_runner.py"),
                               str(TUTORIALS / name), json.dumps(TUTORIAL_BUDGETS[name][0]),
                               str(workdir / "notebook.ipynb")],
                              cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=600)

    pool = ThreadPoolExecutor(AT_ONCE)
    try:
        runs = {f"tutorials/{name}": pool.submit(tutorial, name) for name in TUTORIAL_BUDGETS}
        runs |= {script: pool.submit(smoke, script) for script in WITHOUT_LENET}
        made = pool.submit(screened_run)  # before the scripts that wait for it, so none
        # holds the pool's last worker while it waits in the queue
        runs |= {script: pool.submit(smoke, script) for script in sorted(SMOKE)
                 if script not in WITHOUT_LENET}
        yield runs, lenet_trained
    finally:
        lenet_there.set()  # a session that ends before the LeNet: let waiting runs go on
        pool.shutdown(wait=True, cancel_futures=True)
