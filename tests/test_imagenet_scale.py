"""ImageNet-scale pieces on CPU: 10-crop fitness, colour runs at 256 against EfficientNet-Lite0,
gradient ascent, and the same code path on CUDA where there is one."""

import json

import pytest
import torch
from conftest import CONFIGS

from evofool.analysis.transfer import transfer_matrix
from evofool.defenses.ten_crop import ten_crops
from evofool.errors import ConfigError
from evofool.evaluation.scorer import ImageScorer
from evofool.models import Classifier, InputSpec, LeNet
from evofool.run.config import load_config
from evofool.run.job import EvolutionJob
from evofool.store import RunStore


def test_ten_crops_are_corners_centre_and_mirrors():
    images = torch.arange(2 * 1 * 6 * 6, dtype=torch.float).view(2, 1, 6, 6)
    crops = ten_crops(images, 4, 4)
    assert crops.shape == (20, 1, 4, 4)
    assert torch.equal(crops[0], images[0, :, :4, :4])          # top-left of image 0
    assert torch.equal(crops[1], images[1, :, :4, :4])          # top-left of image 1
    assert torch.equal(crops[2 * 3 + 1], images[1, :, 2:, 2:])  # bottom-right of image 1
    assert torch.equal(crops[2 * 4], images[0, :, 1:5, 1:5])    # centre
    assert torch.equal(crops[2 * 5], images[0, :, :4, :4].flip(-1))  # mirrored top-left


def test_ten_crop_score_is_the_mean_over_crops():
    torch.manual_seed(0)
    spec = InputSpec(channels=1, height=28, width=28, resize=True)
    classifier = Classifier(LeNet(), input_spec=spec, class_names=list("abcdefghij"), name="r")
    images = torch.rand(5, 1, 32, 32)
    scorer = ImageScorer(classifier, device="cpu", defenses=["ten_crop"], max_batch=20)
    scored = scorer.score(images)
    with torch.inference_mode():
        expected = classifier(ten_crops(images, 28, 28)).view(10, 5, 10).mean(dim=0)
    assert torch.allclose(scored, expected, atol=1e-6)
    assert torch.allclose(scored.sum(dim=1), torch.ones(5), atol=1e-5)


@pytest.mark.parametrize("config, overrides, size", [
    ("imagenet_cppn.yaml", [], 224),  # drawn at the model's own size
    ("imagenet_cppn_faithful.yaml", ["evaluator.ten_crop=true"], 256),
    ("imagenet_direct.yaml", [], 256),
])
def test_imagenet_configs_run_on_cpu_with_a_small_budget(config, overrides, size, tmp_path, cli):
    result = cli("run", str(CONFIGS / config), "--out", str(tmp_path / "r"), "--quiet",
                 "--set", "generations=2", "--set", "algorithm.batch_size=3",
                 "--set", "evaluator.device=cpu", *[f"--set={o}" for o in overrides],
                 # auto times its engines at the chunk size: small chunks, a short timing
                 "--set", "evaluator.max_batch=16",
                 # ten cells of the thousand: a full archive of 256x256 direct genomes
                 # writes ~1000 of them to the store in the first generation
                 "--set", "algorithm.classes=[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]")
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["evaluations"] == 6 and len(summary["classes"]) == 10
    store = RunStore(tmp_path / "r", read_only=True)
    assert store.get_meta("image_shape") == [3, size, size]
    store.close()


def test_ascent_reaches_high_confidence_and_is_a_run_like_any(trained_lenet, tmp_path, cli):
    out = tmp_path / "ascent"
    result = cli("ascent", str(CONFIGS / "mnist_ascent.yaml"), "--out", str(out), "--quiet",
                 "--set", "generations=20", "--set", f"model={trained_lenet['path']}",
                 "--set", "algorithm.targets=[1, 7]")
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert [entry["class"] for entry in summary["classes"]] == [1, 7]
    steps = summary["steps_to_threshold"]
    assert set(steps) == {"1", "7"} and all(steps[t]["0.99"] is not None for t in steps)
    assert all(entry["confidence"] >= 0.99 for entry in summary["classes"])
    # The store holds the images as direct genomes: transfer (and export, browse) read them.
    matrix = transfer_matrix(out, [])
    assert matrix.classes == [1, 7] and min(matrix.confidence[0]) >= 0.99


def test_ascent_resumes_exactly(trained_lenet, tmp_path):
    overrides = ["generations=6", f"model={trained_lenet['path']}", "algorithm.targets=[2]",
                 "checkpoint.every_generations=2"]
    whole = load_config(CONFIGS / "mnist_ascent.yaml", overrides)
    EvolutionJob.start(whole, tmp_path / "whole", progress=False).run()
    half = load_config(CONFIGS / "mnist_ascent.yaml", [*overrides[1:], "generations=3"])
    EvolutionJob.start(half, tmp_path / "half", progress=False).run()
    EvolutionJob.resume(tmp_path / "half", ["generations=6"], force=True, progress=False).run()
    first, second = (json.loads((tmp_path / name / "summary.json").read_text())
                     for name in ("whole", "half"))
    assert first["classes"] == second["classes"]
    assert first["steps_to_threshold"] == second["steps_to_threshold"]


def test_ascent_needs_the_direct_encoding(tmp_path):
    with pytest.raises(ConfigError, match="needs encoding.type direct"):
        load_config(CONFIGS / "mnist_ascent.yaml", ["encoding.type=cppn"])


def test_ascent_command_refuses_an_evolution_config(cli, tmp_path):
    result = cli("ascent", str(CONFIGS / "mnist_cppn.yaml"), "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "needs ascent" in result.stderr


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("config", ["imagenet_cppn.yaml", "mnist_ascent.yaml"])
def test_the_same_path_on_cuda(config, tmp_path, trained_lenet):
    overrides = ["generations=3", "evaluator.device=cuda", "algorithm.batch_size=8"] \
        if "imagenet" in config else ["generations=3", "evaluator.device=cuda",
                                      f"model={trained_lenet['path']}"]
    job = EvolutionJob.start(load_config(CONFIGS / config, overrides), tmp_path / "r",
                             progress=False)
    assert job.algorithm.archive.confidence.device.type == "cuda"
    summary = job.run()
    assert summary["generations"] == 3 and summary["classes"]
