"""`evofool transfer` and runs that fool several models at once."""

import json

import pytest
import torch
from PIL import Image

from evofool.analysis.transfer import transfer_matrix, write_transfer
from evofool.errors import ModelLoadError
from evofool.models import ClassifierEnsemble, load_classifier
from evofool.run.config import load_config
from evofool.run.job import EvolutionJob
from evofool.run.stored import StoredRun
from evofool.store import RunStore

CONFIGS = __import__("pathlib").Path(__file__).parents[1] / "configs"


def _run(out, models, generations=20, combine="min"):
    model = models[0] if len(models) == 1 else "[" + ", ".join(map(str, models)) + "]"
    config = load_config(CONFIGS / "mnist_cppn.yaml", [
        f"generations={generations}", f"model={model}", f"evaluator.combine={combine}"])
    EvolutionJob.start(config, out, progress=False).run()
    return out


def _stored_confidence(run_dir):
    store = RunStore(run_dir, read_only=True)
    try:
        return {c.class_index: c.confidence for c in store.champions()}
    finally:
        store.close()


@pytest.mark.numerics
def test_matrix_of_two_lenets_from_different_seeds(small_lenets, tmp_path, cli):
    run_dir = _run(tmp_path / "run", small_lenets[:1])
    result = cli("transfer", str(run_dir), "--models", str(small_lenets[1]))
    assert result.returncode == 0, result.stderr
    out = run_dir / "transfer"
    matrix = json.loads((out / "transfer.json").read_text())
    assert matrix["models"] == [str(small_lenets[0]), str(small_lenets[1])]
    assert matrix["classes"] == list(range(10))
    # The run's own row reproduces the confidences it recorded.
    stored = _stored_confidence(run_dir)
    assert matrix["confidence"][0] == pytest.approx([stored[c] for c in range(10)], abs=1e-5)
    assert matrix["top1_agreement"][0] == 1.0
    # The other network's row is its own probabilities for the run's champions (how much
    # they transfer is an outcome of the search: on MNIST nearly all do, on some seeds as
    # much as to the model they were evolved against, so no order is asserted).
    other = load_classifier(str(small_lenets[1])).eval()
    store = RunStore(run_dir, read_only=True)
    champions = sorted(store.champions(), key=lambda champion: champion.class_index)
    store.close()
    run = StoredRun(run_dir)
    images = run.render([champion.genome_id for champion in champions])
    run.close()
    with torch.inference_mode():
        expected = other(images)[torch.arange(10), torch.arange(10)]
    assert matrix["confidence"][1] == pytest.approx(expected.tolist(), abs=1e-5)
    lines = (out / "transfer.csv").read_text().splitlines()
    assert lines[0].startswith("model,top1_agreement,0:0,") and len(lines) == 3
    assert Image.open(out / "transfer.png").size[0] > 0


@pytest.mark.numerics
def test_fooling_both_models_at_once_transfers_to_both(small_lenets, tmp_path):
    both_dir = _run(tmp_path / "both", small_lenets, generations=40)
    both = transfer_matrix(both_dir, [])
    assert both.models == [str(path) for path in small_lenets]
    # With min fitness, a champion's recorded confidence is its weaker model's ...
    stored = _stored_confidence(both_dir)
    weakest = torch.tensor(both.confidence).amin(dim=0)
    assert weakest.tolist() == pytest.approx([stored[c] for c in both.classes], abs=1e-5)
    # ... so both models are fooled at least that much, and the search drives it up: over
    # 20 seeds (torch, and ONNX Runtime under MKL_CBWR=AVX2, BENCHMARKS.md) the mean of
    # the weaker model's confidence after 40 generations was never below 0.97.
    assert sum(stored.values()) / len(stored) >= 0.9
    write_transfer(both, tmp_path / "matrix")
    assert (tmp_path / "matrix" / "transfer.png").exists()


@pytest.mark.numerics
def test_ensemble_combines_by_min_or_mean(small_lenets):
    members = [load_classifier(str(path)) for path in small_lenets]
    images = torch.rand(8, 1, 28, 28)
    each = torch.stack([member(images) for member in members])
    assert torch.allclose(ClassifierEnsemble(members, "min")(images), each.amin(dim=0))
    assert torch.allclose(ClassifierEnsemble(members, "mean")(images), each.mean(dim=0))


def test_ensemble_refuses_models_with_other_classes(small_lenets, random_lenet):
    other = load_classifier(str(small_lenets[0]))
    random_lenet.class_names = tuple("abcdefghij")
    with pytest.raises(ModelLoadError, match="different classes"):
        ClassifierEnsemble([other, random_lenet], "min")


def test_transfer_of_a_non_run_is_one_line(tmp_path, cli, small_lenets):
    result = cli("transfer", str(tmp_path), "--models", str(small_lenets[0]))
    assert result.returncode == 2 and "is not an evofool run" in result.stderr


def test_a_changed_own_model_is_named_not_passed_off_as_the_runs(small_lenets, tmp_path, cli):
    model = tmp_path / "lenet.pt"
    model.write_bytes(small_lenets[0].read_bytes())
    run_dir = _run(tmp_path / "run", [model], generations=5)
    model.write_bytes(small_lenets[1].read_bytes())  # "retrained" in place
    result = cli("transfer", str(run_dir), "--models", str(small_lenets[0]))
    assert result.returncode == 0, result.stderr
    assert "now loads other weights than" in result.stderr
    matrix = json.loads((run_dir / "transfer" / "transfer.json").read_text())
    assert matrix["models"] == [f"{model} (changed since the run)", str(small_lenets[0])]
    assert transfer_matrix(run_dir, []).models[0].endswith("(changed since the run)")
    model.write_bytes(small_lenets[0].read_bytes())
    assert transfer_matrix(run_dir, []).models == [str(model)]


def test_models_with_other_class_names_say_which(small_lenets, tmp_path):
    run_dir = _run(tmp_path / "run", small_lenets[:1], generations=2)
    renamed = tmp_path / "renamed.pt"
    payload = torch.load(small_lenets[1], weights_only=True)
    payload["class_names"][3] = "three"
    torch.save(payload, renamed)
    with pytest.raises(Exception, match="its class 3 is 'three', the run's is '3'"):
        transfer_matrix(run_dir, [str(renamed)])
