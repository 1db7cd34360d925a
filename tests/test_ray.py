"""Evaluation on Ray actors: the same evaluations and champions as local scoring; a killed
actor loses nothing; genomes, not pixels, cross to the actors.

Starts Ray's simulated multi-node cluster (a head without CPUs and two worker nodes, separate
raylets on this machine), so actors run on other nodes than the driver; skips, saying why,
without Ray.
"""

import contextlib
import ctypes
import json
import sqlite3

import pytest
import torch
from conftest import CONFIGS

from evofool.randomness import RunRandomness
from evofool.run.builder import build_algorithm, build_classifier, build_encoding, build_evaluator
from evofool.run.config import config_from_dict, load_config
from evofool.run.job import EvolutionJob

pytestmark = pytest.mark.processes  # Ray actors

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install -e '.[ray]')")


@pytest.fixture(scope="module", autouse=True)
def two_node_cluster():
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    with _main_thread_signal_stack_kept():
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False)
        yield
        ray.shutdown()
    cluster.shutdown()


class _SignalStack(ctypes.Structure):
    _fields_ = [("ss_sp", ctypes.c_void_p), ("ss_flags", ctypes.c_int),
                ("ss_size", ctypes.c_size_t)]


@contextlib.contextmanager
def _main_thread_signal_stack_kept():
    """Ray's driver gives the main thread an alternate signal stack (its failure signal
    handler) and frees it at ``ray.shutdown()`` without taking it back: the next signal
    this process handles (a test's SIGINT, CPython's handlers run on that stack) is then
    delivered onto freed memory and the test process dies of SIGSEGV. The stack the
    process had before (faulthandler's) is put back after the shutdown."""
    libc = ctypes.CDLL(None, use_errno=True)
    before = _SignalStack()
    libc.sigaltstack(None, ctypes.byref(before))
    try:
        yield
    finally:
        libc.sigaltstack(ctypes.byref(before), None)


def _config(model, backend, generations=8):
    return load_config(CONFIGS / "mnist_cppn.yaml", [
        f"model={model}", f"generations={generations}", f"evaluator.backend={backend}",
        "evaluator.ray_actors=2", "algorithm.batch_size=50",
        "evaluator.max_batch=25"])  # two chunks: one per actor


@pytest.mark.numerics
def test_a_run_on_ray_actors_has_the_champions_of_a_local_run(small_lenets, tmp_path):
    for backend in ("local", "ray"):
        EvolutionJob.start(_config(small_lenets[0], backend), tmp_path / backend,
                           progress=False).run()
    local, remote = (json.loads((tmp_path / name / "summary.json").read_text())
                     for name in ("local", "ray"))
    assert remote["classes"] == local["classes"] and remote["evaluations"] == 400
    assert (tmp_path / "ray" / "genomes.json").read_text() == \
        (tmp_path / "local" / "genomes.json").read_text()


@pytest.mark.numerics
def test_a_gated_run_on_ray_actors_equals_the_local_run(small_lenets, tmp_path):
    """The detector gate runs where the images are (each actor scores its shard), and the
    archive, its confidences and the store's rows are the local run's, bitwise."""
    from test_ood_gate import gated_config  # skips without pytorch-ood (imported via the shim)

    for backend in ("local", "ray"):
        config = gated_config(small_lenets[0], "cppn", "map_elites", 4)
        raw = config.to_dict()
        raw["evaluator"].update(backend=backend, ray_actors=2, max_batch=25)
        raw["algorithm"]["batch_size"] = 300  # two shards of whole 256-image gate chunks
        EvolutionJob.start(config_from_dict(raw), tmp_path / backend, progress=False).run()
    local, remote = (json.loads((tmp_path / name / "summary.json").read_text())
                     for name in ("local", "ray"))
    assert remote["classes"] == local["classes"] and "detector" in remote
    assert remote["classes_at_0.99_passing_detector"] == \
        local["classes_at_0.99_passing_detector"]
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "local")


@pytest.mark.numerics
def test_a_screened_run_on_ray_actors_equals_the_local_run(small_lenets, tmp_path):
    """Actors screen their shards, the driver picks the candidates, and the candidates go
    out again in whole exact chunks: the archive, its confidences, the store's rows and
    every generation's screen decision and counts are the local run's, bitwise."""
    screen = "evaluator.screen={engine: torch-bf16, audit_every: 4, when: always}"
    for backend in ("local", "ray"):
        config = load_config(CONFIGS / "mnist_cppn.yaml", [
            f"model={small_lenets[0]}", "generations=8", f"evaluator.backend={backend}",
            "evaluator.ray_actors=2", "algorithm.batch_size=100", "evaluator.max_batch=20",
            screen])
        EvolutionJob.start(config, tmp_path / backend, progress=False).run()
    local, remote = (json.loads((tmp_path / name / "summary.json").read_text())
                     for name in ("local", "ray"))
    assert remote["classes"] == local["classes"] and remote["screen"] == local["screen"]
    assert remote["screen"]["confirmed"] < remote["screen"]["screened"]  # it screened
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "local")
    screen_rows = [_without_seconds(tmp_path / name / "screen.csv") for name in ("local", "ray")]
    assert screen_rows[0] == screen_rows[1]
    assert {"audit", "screen"} <= {row["decision"] for row in screen_rows[0]}


def _without_seconds(csv_path):
    import csv

    with open(csv_path, newline="") as file:
        return [{key: value for key, value in row.items() if "second" not in key}
                for row in csv.DictReader(file)]


def _rows(run_dir):
    """The store's rows but their wall-clock times: champions, history, genomes."""
    connection = sqlite3.connect(run_dir / "run.sqlite")
    try:
        return [connection.execute(query).fetchall() for query in (
            "SELECT class, genome_id, parent_id, generation, confidence, top_k FROM champions "
            "ORDER BY class",
            "SELECT class, genome_id, parent_id, generation, confidence, evaluations FROM "
            "history ORDER BY id",
            "SELECT * FROM genomes ORDER BY genome_id")]
    finally:
        connection.close()


def test_a_killed_actor_loses_no_evaluation(small_lenets, capsys):
    searches = {}
    for backend in ("local", "ray"):
        config = _config(small_lenets[0], backend)
        classifier = build_classifier(config)
        encoding = build_encoding(config, classifier)
        searches[backend] = build_algorithm(config, encoding,
                                            build_evaluator(config, classifier, encoding))
    local, remote = searches["local"], searches["ray"]
    for generation in range(6):
        if generation == 3:
            ray.kill(remote.evaluator.actors[0], no_restart=True)
        local.step()
        remote.step()
    assert remote.evaluator.failures == 1
    assert "evaluation actor 0 died" in capsys.readouterr().err
    assert remote.evaluations == local.evaluations == 300
    assert remote.evaluator.images_scored == 300
    assert torch.equal(remote.archive.confidence, local.archive.confidence)
    assert torch.equal(remote.archive.genome_id, local.archive.genome_id)


@pytest.mark.numerics
def test_a_module_from_python_travels_to_the_actors(tmp_path):
    """``evofool.evolve(module)`` on Ray: the actors get the module itself, a class they
    cannot import (defined here, as in a notebook), and score as the local run does."""
    import evofool

    class NotebookNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(3 * 8 * 8, 4)

        def forward(self, images):
            return self.linear(images.flatten(1))

    torch.manual_seed(0)
    module = NotebookNet()
    runs = [evofool.evolve(module, "mnist_cppn", out=tmp_path / backend, progress=False,
                           input_shape=(3, 8, 8), generations=3, **{
                               "evaluator.backend": backend, "evaluator.ray_actors": 2,
                               "algorithm.batch_size": 50, "evaluator.max_batch": 25})
            for backend in ("local", "ray")]
    assert runs[0].summary["classes"] == runs[1].summary["classes"]
    assert runs[1].summary["evaluations"] == 150


@pytest.mark.numerics
@pytest.mark.parametrize("encoding, defenses", [
    ("cppn", []), ("direct", []), ("direct", ["noise_average:sigma=0.2,samples=3", "jpeg"])])
def test_a_ray_evaluation_equals_a_local_one(small_lenets, encoding, defenses):
    """The evaluation contract on both backends: the same genomes give bitwise the same
    probabilities and brightness, whichever actor drew and scored them (with noise
    averaging, each child's noise too)."""
    evaluations = {}
    for backend in ("local", "ray"):
        config = load_config(CONFIGS / f"mnist_{encoding}.yaml", [
            f"model={small_lenets[0]}", f"evaluator.backend={backend}", "evaluator.ray_actors=2",
            "evaluator.max_batch=16", f"evaluator.defenses={json.dumps(defenses)}"])
        classifier = build_classifier(config)
        shape = build_encoding(config, classifier)
        evaluations[backend] = (shape, build_evaluator(config, classifier, shape))
    shape = evaluations["local"][0]
    genomes = shape.random(40, RunRandomness(3))
    for _ in range(5):
        genomes = shape.offspring(genomes, genomes, RunRandomness(4), 0)
    local, remote = (evaluator.evaluate(genomes, generation=7, with_brightness=True)
                     for _, evaluator in evaluations.values())
    assert torch.equal(local.probabilities, remote.probabilities)
    assert torch.equal(local.brightness, remote.brightness)
    for actor in evaluations["ray"][1].actors:
        ray.kill(actor)


def test_actors_receive_genomes_not_pixels(small_lenets):
    """What crosses to the actors is the children's genomes: for 28x28 CPPNs fewer bytes
    than their images, and the images are never rendered in the driver."""
    config = _config(small_lenets[0], "ray")
    classifier = build_classifier(config)
    encoding = build_encoding(config, classifier)
    search = build_algorithm(config, encoding, build_evaluator(config, classifier, encoding))
    rendered = []
    encoding_render = type(encoding).render
    type(encoding).render = lambda self, genomes: rendered.append(1) or encoding_render(
        self, genomes)
    try:
        search.step()
        search.step()
    finally:
        type(encoding).render = encoding_render
    assert not rendered  # the driver drew nothing
    sent = search.evaluator.bytes_sent
    genome_bytes = sum(value.nbytes for value in encoding.random(1, search.rng).values())
    assert sent == 2 * 50 * genome_bytes
    assert config.algorithm.brightness_bins > 1  # probabilities and brightness come back
    assert search.evaluator.bytes_returned == 2 * 50 * (10 * 4 + 8)


@pytest.mark.numerics
def test_gradient_ascent_on_ray_actors_equals_the_local_run(small_lenets, tmp_path):
    """Actors compute the gradients of their shards' targets in whole chunks, as the local
    scorer does: the images, the archive and the store's rows are the local run's, bitwise."""
    for backend in ("local", "ray"):
        config = load_config(CONFIGS / "mnist_ascent.yaml", [
            f"model={small_lenets[0]}", "generations=3", f"evaluator.backend={backend}",
            "evaluator.ray_actors=2", "evaluator.max_batch=5"])  # 10 targets: a chunk each
        EvolutionJob.start(config, tmp_path / backend, progress=False).run()
    local, remote = (json.loads((tmp_path / name / "summary.json").read_text())
                     for name in ("local", "ray"))
    assert remote["classes"] == local["classes"] and remote["evaluations"] == 300
    assert remote["steps_to_threshold"] == local["steps_to_threshold"]
    assert _rows(tmp_path / "ray") == _rows(tmp_path / "local")


def test_a_killed_run_leaves_no_ray_process_behind(small_lenets, tmp_path):
    """A run that starts its own local cluster and is SIGKILLed (a preempted machine) takes
    every process of that cluster with it: GCS, raylet, workers and the raylet's agents."""
    import signal
    import subprocess
    import sys
    import time

    from evofool.evaluation.ray_reaper import ray_descendants

    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [sys.executable, "-m", "evofool", "run", str(CONFIGS / "mnist_cppn.yaml"), "--quiet",
         "--out", str(run_dir), "--set", f"model={small_lenets[0]}",
         "--set", "generations=100000", "--set", "evaluator.backend=ray",
         "--set", "evaluator.ray_actors=1"], stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (run_dir / "metrics.csv").exists() and process.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    assert process.poll() is None, process.stderr.read()
    time.sleep(1)  # the reaper lists the cluster twice a second
    cluster = ray_descendants(process.pid)
    assert len(cluster) >= 3  # at least GCS, raylet and the actor
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 20
    while (alive := _alive(cluster)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not alive


def _alive(processes):
    """Those of ``processes`` (pid: start time) still running, zombies not counted."""
    alive = []
    for pid, started in processes.items():
        try:
            text = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[19]) == started:
            alive.append(pid)
    return alive
