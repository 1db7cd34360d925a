"""Evolving past an OOD detector (evaluator.detector): the gated fitness, the fitted gate,
and gated runs that resume exactly and say which champions pass."""

import csv
import json
from pathlib import Path

import pytest
import torch
from conftest import browser_client

from evofool.ood.detectors import GATE_DETECTORS
from evofool.ood.gate import DetectorGate, fit_gate
from evofool.run.config import config_from_dict, load_config
from evofool.run.image_sets import load_image_set
from evofool.run.job import EvolutionJob
from evofool.vision_libs import import_pytorch_ood

CONFIGS_DIR = Path(__file__).parents[1] / "configs"

try:
    import_pytorch_ood()
except ImportError:
    pytest.skip("the ood extra (pytorch-ood) is not installed", allow_module_level=True)


def test_gated_fitness_puts_every_passing_image_above_every_flagged_one():
    gate = DetectorGate(detector=None, threshold=1.0, spread=2.0, facts={}, classifier=None)
    probabilities = torch.tensor([[0.01, 0.99], [0.999, 0.001], [0.999, 0.001], [0.5, 0.5]])
    outlier = torch.tensor([1.0, 1.5, 3.0, 3.0])  # passes, then ever further past 1.0
    fitness = gate.fitness(probabilities, outlier)
    assert torch.equal(fitness[0], probabilities[0])  # passing: the confidence itself
    assert fitness[1:].max() < 0 <= fitness[0].min()  # flagged: below every passing image
    assert fitness[1:].min() >= -0.5
    assert fitness[1, 0] > fitness[2, 0]  # nearer the threshold ranks higher ...
    assert fitness[2, 0] > fitness[3, 0]  # ... and so does more confidence at equal distance


def blob_file(path, count, seed, low, high):
    generator = torch.Generator().manual_seed(seed)
    images = low + (high - low) * torch.rand(count, 1, 28, 28, generator=generator)
    torch.save({"images": (images * 255).round().to(torch.uint8),
                "labels": torch.arange(count) % 10}, path)
    return str(path)


@pytest.mark.parametrize("detector", GATE_DETECTORS)
def test_gate_threshold_keeps_the_asked_share_and_loads_back_identical(
        random_lenet, tmp_path, detector):
    natural = blob_file(tmp_path / "natural.pt", 400, 1, 0, 0.3)
    gate = fit_gate(random_lenet, detector=detector, fit_on=blob_file(tmp_path / "fit.pt", 500,
                                                                      2, 0, 0.3),
                    fit_images=500, threshold_on=natural, tpr=0.9, load_images=load_image_set)
    images = torch.load(natural)["images"].float() / 255
    kept = (gate.outlier_scores(images) <= gate.threshold).float().mean()
    assert abs(float(kept) - 0.9) <= 0.01
    gate.save(tmp_path / "detector.pt")
    loaded = DetectorGate.load(tmp_path / "detector.pt", random_lenet)
    assert loaded.threshold == gate.threshold and loaded.facts == gate.facts
    assert torch.equal(loaded.outlier_scores(images), gate.outlier_scores(images))


class WritesAFile:
    """What a crafted detector.pt holds: unpickling it would create a file."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "pwned"))


def test_a_crafted_detector_file_is_refused_and_runs_no_code(small_lenets, tmp_path, cli):
    run_dir = tmp_path / "run"
    EvolutionJob.start(gated_config(small_lenets[0], "cppn", "map_elites", 2), run_dir,
                       progress=False).run()
    payload = tmp_path / "payload-ran"
    torch.save({"format": "evofool-detector-gate-2", "detector": WritesAFile(payload),
                "threshold": 0.0, "spread": 1.0, "facts": {}}, run_dir / "detector.pt")
    before = {path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()}
    result = cli("resume", str(run_dir), "--set", "generations=4")
    assert result.returncode == 2 and "refusing the run's fitted detector" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not payload.exists()
    assert {path: path.read_bytes() for path in run_dir.rglob("*") if path.is_file()} == before


def test_a_detector_that_cannot_gate_is_named(random_lenet):
    with pytest.raises(Exception, match="must be one of"):
        fit_gate(random_lenet, detector="odin", fit_on="mnist-train", fit_images=10,
                 threshold_on="mnist-test", tpr=0.95, load_images=load_image_set)


def gated_config(model, encoding, algorithm, generations):
    """The shipped config's detector section, on a small model and budget."""
    shipped = load_config(CONFIGS_DIR / "mnist_cppn_vs_mahalanobis.yaml").to_dict()
    searches = {"map_elites": {"type": "map_elites", "batch_size": 50, "brightness_bins": 3},
                "ga": {"type": "ga", "targets": [3, 7], "population": 20, "offspring": 20}}
    return config_from_dict({
        "model": str(model), "generations": generations, "encoding": {"type": encoding},
        "algorithm": searches[algorithm],
        "evaluator": {"detector": {**shipped["evaluator"]["detector"], "fit_images": 2000}},
        "checkpoint": {"every_generations": 3, "every_seconds": None}})


def results(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    genomes = sorted(path.name for path in run_dir.glob("genomes.*"))
    return ([{key: value for key, value in entry.items()} for entry in summary["classes"]],
            [(run_dir / name).read_bytes() for name in genomes])


@pytest.mark.parametrize("encoding, algorithm", [("cppn", "map_elites"), ("direct", "ga")])
def test_gated_run_resumes_exactly_and_reports_who_passes(small_lenets, tmp_path, encoding,
                                                          algorithm):
    model = small_lenets[0]
    whole = tmp_path / "whole"
    summary = EvolutionJob.start(gated_config(model, encoding, algorithm, 6), whole,
                                 progress=False).run()
    parted = tmp_path / "parted"
    EvolutionJob.start(gated_config(model, encoding, algorithm, 3), parted, progress=False).run()
    EvolutionJob.resume(parted, ["generations=6"], progress=False).run()
    assert results(whole) == results(parted)
    assert summary["detector"]["type"] == "mahalanobis"
    assert summary["detector"]["fit_on"] == {"set": "mnist-train", "images": 2000}
    threshold = summary["detector"]["threshold"]
    for entry in summary["classes"]:
        assert entry["passes_detector"] == (entry["detector_score"] <= threshold)
    assert summary["classes_at_0.99_passing_detector"] == sum(
        entry["passes_detector"] and entry["confidence"] >= 0.99 for entry in summary["classes"])
    # "fooled" has one meaning (evofool.archive.confidence): summary and metrics.csv count the same
    last_row = list(csv.DictReader(open(whole / "metrics.csv")))[-1]
    assert summary["classes_at_0.99"] == int(last_row["classes_at_0.99"]) \
        == summary["classes_at_0.99_passing_detector"]
    page = browser_client([whole]).get("/api/runs/whole").json()
    assert page["passing_detector"] == summary["classes_at_0.99_passing_detector"]
    assert (page["classes_at_0.99"], page["median_confidence"]) == (
        summary["classes_at_0.99"], summary["median_confidence"])
    shown = page["champions"]
    assert {c["class"]: c["passes_detector"] for c in shown} == {
        entry["class"]: entry["passes_detector"] for entry in summary["classes"]
        if entry["class"] in {c["class"] for c in shown}}


def test_detector_config_errors_are_one_line(cli, tmp_path, small_lenets):
    config = CONFIGS_DIR / "mnist_cppn_vs_mahalanobis.yaml"
    for override, message in (("evaluator.detector.type=odin",
                               "evaluator.detector.type must be one of"),
                              ("evaluator.detector.tpr=1.5",
                               "evaluator.detector.tpr must be in [0, 1]"),
                              ("evaluator.detector.fit_on=nowhere.pt",
                               "nowhere.pt: not an image set")):
        result = cli("run", str(config), "--set", override, "--set", "generations=1",
                     "--set", f"model={small_lenets[0]}", "--out", str(tmp_path / "run"))
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and not (tmp_path / "run").exists()


def test_the_n_plus_1_loop_evolves_past_the_detector_too(small_lenets, tmp_path):
    from conftest import RETRAIN_CONFIG, tiny_retrain_overrides

    from evofool.n_plus_one.config import load_retrain_config
    from evofool.n_plus_one.experiment import RetrainExperiment

    overrides = [*tiny_retrain_overrides(small_lenets[0]), "rounds=1", "held_out.enabled=false",
                 "evolution.evaluator.detector={type: energy}"]
    config = load_retrain_config(RETRAIN_CONFIG, overrides)
    RetrainExperiment.start(config, tmp_path / "exp", progress=False).run()
    for round_index in (0, 1):  # each round's gate is fit against that round's own model
        run_dir = tmp_path / "exp" / "rounds" / f"round-{round_index:02d}"
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["detector"]["type"] == "energy" and (run_dir / "detector.pt").exists()
        assert all("passes_detector" in entry for entry in summary["classes"])
