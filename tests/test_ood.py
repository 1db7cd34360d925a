"""`evofool ood`: pytorch-ood's detectors on fooling images, and its one-line errors."""

import json
import shutil

import pytest
import torch
from conftest import browser_client

from evofool.analysis.ood_report import evaluate, write_report
from evofool.errors import EvofoolError
from evofool.ood.detectors import DETECTORS
from evofool.ood.representations import network_head, represent
from evofool.run.image_sets import ImageSet, load_image_set
from evofool.vision_libs import import_pytorch_ood

try:
    import_pytorch_ood()
except ImportError:
    pytest.skip("the ood extra (pytorch-ood) is not installed", allow_module_level=True)


def blobs(name, count, seed, low, high, labels=True):
    """uint8 MNIST-shaped images uniform in [low, high): two sets from the same range are
    one distribution; sets from disjoint ranges are not."""
    generator = torch.Generator().manual_seed(seed)
    images = (low + (high - low) * torch.rand(count, 1, 28, 28, generator=generator))
    return ImageSet(name, (images * 255).round().to(torch.uint8),
                    torch.randint(10, (count,), generator=generator) if labels else None)


def test_features_are_the_heads_input(random_lenet):
    head = network_head(random_lenet)
    assert head is random_lenet.network.classifier[-1]
    images = blobs("x", 5, 0, 0, 1).images
    representations = represent(random_lenet, images)
    assert representations.features.shape == (5, 500)
    assert torch.allclose(head(representations.features), representations.logits, atol=1e-5)
    assert torch.allclose(representations.logits.softmax(1),
                          random_lenet(images.float() / 255), atol=1e-6)


def test_every_detector_tells_a_shifted_set_from_the_same_distribution(random_lenet):
    natural = blobs("natural", 300, 1, 0.0, 0.3)
    report = evaluate(random_lenet, in_distribution=natural,
                      ood_sets=[blobs("same", 300, 2, 0.0, 0.3, labels=False),
                                blobs("shifted", 300, 3, 0.7, 1.0, labels=False)],
                      detectors=list(DETECTORS), fit_set=blobs("fit", 600, 4, 0.0, 0.3))
    assert {(row["detector"], row["ood_set"]) for row in report.rows} == {
        (detector, name) for detector in DETECTORS for name in ("same", "shifted")}
    for detector in ("mahalanobis", "vim", "knn"):  # features: a shift is plain to see
        assert report.auroc(detector, "shifted") > 0.95
        assert 0.3 < report.auroc(detector, "same") < 0.7  # chance on its own distribution
    assert report.fit_on == {"set": "fit", "images": 600, "labels": "given"}


def test_report_files(random_lenet, tmp_path):
    report = evaluate(random_lenet, in_distribution=blobs("natural", 50, 1, 0, 0.3),
                      ood_sets=[blobs("noise", 50, 2, 0, 1)], detectors=["msp", "energy"],
                      fit_set=None)
    write_report(report, tmp_path)
    assert (tmp_path / "ood.csv").read_text().splitlines()[0] == \
        "detector,ood_set,AUROC,AUPR-IN,AUPR-OUT,FPR95TPR"
    assert json.loads((tmp_path / "ood.json").read_text())["sets"] == {"noise": 50}
    assert (tmp_path / "ood.png").read_bytes()[:4] == b"\x89PNG"


def test_image_sets_name_their_problems(tmp_path):
    with pytest.raises(EvofoolError, match="not an image set"):
        load_image_set(str(tmp_path / "nothing"), shape=(1, 28, 28))
    torch.save({"images": torch.zeros(2, 3, 28, 28, dtype=torch.uint8)}, tmp_path / "rgb.pt")
    with pytest.raises(EvofoolError, match="3-channel images; the model takes 1"):
        load_image_set(str(tmp_path / "rgb.pt"), shape=(1, 28, 28))
    noise = load_image_set("gaussian-noise", shape=(1, 28, 28), limit=7)
    assert noise.images.shape == (7, 1, 28, 28) and noise.images.dtype == torch.uint8


def test_cli_scores_a_runs_fooling_images_and_the_browser_shows_them(
        cli, trained_lenet, tiny_cppn_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(tiny_cppn_run, run_dir)
    result = cli("ood", trained_lenet["path"], "--fooling", str(run_dir),
                 "--detectors", "msp,mahalanobis", "--fit-images", "3000",
                 "--natural-images", "2000", "--min-confidence", "0.5")
    assert result.returncode == 0, result.stderr
    out = run_dir / "ood"  # the default for one run: where the browser looks
    rows = json.loads(result.stdout.splitlines()[-1])["rows"]
    assert [(row["detector"], row["ood_set"]) for row in rows] == [
        (detector, name) for detector in ("msp", "mahalanobis")
        for name in (str(run_dir), "uniform-noise", "gaussian-noise")]
    # the paper's point, measured: confidence does not flag noise a feature detector does
    by = {(row["detector"], row["ood_set"]): row["AUROC"] for row in rows}
    assert by["mahalanobis", "uniform-noise"] > 0.99
    summary = json.loads((out / "ood.json").read_text())
    assert summary["fit_on"] == {"set": "mnist-train", "images": 3000, "labels": "given"}
    assert summary["in_distribution"] == {"set": "mnist-test", "images": 2000}
    assert summary["sets"]["uniform-noise"] == summary["sets"]["gaussian-noise"] == 2000
    client = browser_client([run_dir])
    shown = client.get("/api/runs/run").json()["ood"]
    assert shown["rows"] == rows and client.get(shown["heatmap"]).content[:4] == b"\x89PNG"


def test_cli_errors_are_one_line(cli, tmp_path):
    for args, message in ((["--detectors", "msp,typo", "--ood", "uniform-noise", "--out",
                            str(tmp_path / "o")], "unknown typo"),
                          (["--ood", "uniform-noise"], "--out is needed"),
                          (["--ood", "uniform-noise", "--out", str(tmp_path / "o"),
                            "--natural-images", "0"], "(--natural-images) must be positive")):
        result = cli("ood", *args)
        assert result.returncode == 2 and message in result.stderr
        assert "Traceback" not in result.stderr
