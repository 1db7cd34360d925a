"""The n+1 experiment on data other than MNIST's arrays: an image folder (MNIST saved as one
gives the MNIST path's round 0), an RGB folder with the small CNN `evofool train` fits, and
clear errors for data that cannot serve."""

import csv
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from conftest import RETRAIN_CONFIG as CONFIG
from conftest import rgb_folder
from conftest import tiny_retrain_overrides as tiny
from PIL import Image

from evofool.data import load_labelled_images, load_mnist
from evofool.errors import ConfigError, DataUnavailableError
from evofool.models import load_classifier
from evofool.n_plus_one.config import load_retrain_config
from evofool.n_plus_one.experiment import RetrainExperiment
from evofool.store.retrain_layout import round_model_path

TIMING = ("evolve_seconds", "train_seconds", "model")


def mnist_folder(root, train_count):
    """MNIST's 10,000 test digits and its first ``train_count`` training digits as PNGs in
    train/ and test/ class folders, named by their index (so each class keeps MNIST's order)."""
    mnist = load_mnist()
    for split, images, labels in (("train", mnist.train_images[:train_count],
                                   mnist.train_labels[:train_count]),
                                  ("test", mnist.test_images, mnist.test_labels)):
        for index, (image, label) in enumerate(zip(images, labels, strict=True)):
            folder = root / split / str(label)
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{index:05d}.png")
    return mnist


def _rows(directory):
    with open(directory / "rounds.csv") as handle:
        return [{key: value for key, value in row.items() if key not in TIMING}
                for row in csv.DictReader(handle)]


@pytest.fixture(scope="module")
def digits_folder(tmp_path_factory):
    """MNIST's test digits and its first 3,000 training digits as an image folder, written
    once (13,000 PNGs): (folder, the MNIST arrays)."""
    root = tmp_path_factory.mktemp("digits")
    return root, mnist_folder(root, train_count=3000)


def test_an_image_folder_holds_the_same_images_and_labels_in_class_order(digits_folder):
    root, mnist = digits_folder
    loaded = load_labelled_images(str(root), (1, 28, 28))
    order = np.argsort(mnist.test_labels, kind="stable")  # class by class, MNIST's order
    assert np.array_equal(loaded.test_images[:, 0], mnist.test_images[order])
    assert np.array_equal(loaded.test_labels, mnist.test_labels[order])
    assert loaded.class_names == tuple("0123456789") and len(loaded.train_images) == 3000
    relabelled = loaded.labelled_as(tuple("9876543210"))  # the model's order, by name
    assert np.array_equal(relabelled.test_labels, 9 - loaded.test_labels)
    wider = loaded.labelled_as(("x", *"0123456789", "y"))  # some of a model's classes
    assert np.array_equal(wider.test_labels, loaded.test_labels + 1)


def test_without_splits_every_fifth_image_is_held_out_at_the_asked_shape(tmp_path):
    data = load_labelled_images(str(rgb_folder(tmp_path / "rgb", per_class=10)), (3, 16, 16))
    assert data.train_images.shape == (24, 3, 16, 16) and data.test_images.shape == (6, 3, 16, 16)
    assert data.class_names == ("blue", "green", "red")
    assert np.array_equal(data.test_labels, [0, 0, 1, 1, 2, 2])
    # red fields are red after resizing: the channel order survives
    red = data.test_images[data.test_labels == 2].mean(axis=(0, 2, 3))
    assert red[0] > 150 > 80 > red[1]
    grey = load_labelled_images(str(tmp_path / "rgb"), (1, 8, 8))
    assert grey.train_images.shape == (24, 1, 8, 8)


def test_data_that_cannot_serve_is_named_in_one_line(tmp_path):
    with pytest.raises(DataUnavailableError, match="no such image folder"):
        load_labelled_images(str(tmp_path / "none"), (3, 8, 8))
    (tmp_path / "one" / "only").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "one" / "only" / "a.png")
    with pytest.raises(DataUnavailableError, match="at least two class"):
        load_labelled_images(str(tmp_path / "one"), (3, 8, 8))
    root = rgb_folder(tmp_path / "bad", per_class=5)
    (root / "red" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataUnavailableError, match=r"not a readable image: .*broken\.png"):
        load_labelled_images(str(root), (3, 8, 8))
    (root / "red" / "broken.png").unlink()
    with pytest.raises(DataUnavailableError, match="has 3 classes .* the model has 10"):
        load_labelled_images(str(root), (3, 8, 8)).labelled_as(tuple("0123456789"))


def test_mnist_saved_as_an_image_folder_gives_the_mnist_paths_round_zero(small_lenets,
                                                                        digits_folder, tmp_path):
    """Round 0 (the same model, evolution and test digits: 2,000 test digits are each
    class's first, whichever order the classes come in) is the MNIST path's; Mahalanobis is
    fit on the same 3,000 digits in another order, so its AUROC may differ in rounding.
    Round 1 trains on those digits class by class, so it differs."""
    tables = {}
    for name, data in (("arrays", "mnist"), ("folder", str(digits_folder[0]))):
        config = load_retrain_config(CONFIG, [*tiny(small_lenets[0]), "rounds=1",
                                              f"data={data}", "held_out.fit_images=3000"])
        RetrainExperiment.start(config, tmp_path / name, progress=False).run()
        tables[name] = _rows(tmp_path / name)
    fitted = "held_out_auroc_mahalanobis"
    folder, arrays = tables["folder"][0], tables["arrays"][0]
    assert float(folder.pop(fitted)) == pytest.approx(float(arrays.pop(fitted)), abs=1e-3)
    assert folder == arrays
    assert float(tables["folder"][1]["test_accuracy"]) > 0.8
    assert load_classifier(str(round_model_path(tmp_path / "folder", 1))).num_classes == 11


def test_fewer_test_images_cover_every_class_of_a_folder_sorted_by_class(
        small_lenets, digits_folder, tmp_path):
    """``training.test_images``: accuracy and held-out AUROC on N test images spread over
    the test set (a folder's come class by class; its first 30 are all zeros)."""
    overrides = [*tiny(small_lenets[0]), f"data={digits_folder[0]}"]
    experiment = RetrainExperiment.start(load_retrain_config(CONFIG, [
        *overrides, "training.test_images=30"]), tmp_path / "exp", progress=False)
    try:
        labels = experiment.natural.test_labels
    finally:
        experiment.store.close()
    assert np.bincount(labels).tolist() == [3] * 10
    with pytest.raises(ConfigError, match="training.test_images must be at least 10"):
        load_retrain_config(CONFIG, [*overrides, "training.test_images=5"])


def test_the_n_plus_1_experiment_runs_on_an_rgb_folder_with_a_small_cnn(tmp_path, cli,
                                                                         monkeypatch):
    """Started with relative paths (model, data, experiment), it resumes from another
    working directory: an experiment once recorded them relative to where it started."""
    monkeypatch.chdir(tmp_path)
    data = rgb_folder(Path("rgb"))
    model = Path("cnn.pt")
    trained = cli("train", "small-cnn", "--data", str(data), "--out", str(model),
                  "--size", "16", "--epochs", "15")
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout.splitlines()[-1])["test_accuracy"] > 0.9
    result = cli("retrain", "folder_retrain", "--out", "exp", "--quiet",  # shipped, by name
                 *[f"--set={override}" for override in (
                     f"model={model}", f"data={data}", "rounds=1", "evolution.generations=6",
                     "evolution.algorithm.batch_size=40", "training.epochs=2",
                     "training.mode=finetune", "training.layers=head", "garbage.threshold=0.4",
                     "garbage.per_round=20", "held_out.detectors=[msp, energy]")])
    assert result.returncode == 0, result.stderr
    rows = _rows(tmp_path / "exp")
    assert [row["round"] for row in rows] == ["0", "1"] and int(rows[0]["garbage_added"]) > 0
    assert float(rows[1]["test_accuracy"]) > 0.8 and rows[1]["held_out_auroc_msp"] != ""
    widened = load_classifier(str(round_model_path(tmp_path / "exp", 1)))
    assert widened.class_names == ("blue", "green", "red", "garbage")
    assert widened.input_spec.shape == (3, 16, 16)
    connection = sqlite3.connect(tmp_path / "exp" / "retrain.sqlite")
    try:
        pixels = connection.execute("SELECT pixels FROM garbage").fetchall()
    finally:
        connection.close()
    assert {len(row[0]) for row in pixels} == {3 * 16 * 16}
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = cli("resume", "../exp", "--quiet", "--set", "rounds=2", "--force")
    assert result.returncode == 0, result.stderr
    assert [row["round"] for row in _rows(tmp_path / "exp")] == ["0", "1", "2"]


def test_retrain_refuses_a_model_and_data_that_do_not_fit_in_one_line(small_lenets, tmp_path,
                                                                      cli):
    data = rgb_folder(tmp_path / "rgb", per_class=5)
    result = cli("retrain", str(CONFIG), "--out", str(tmp_path / "exp"),
                 f"--set=model={small_lenets[0]}", f"--set=data={data}")
    assert result.returncode != 0 and "has 3 classes" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "exp").exists()
    result = cli("train", "small-cnn", "--out", str(tmp_path / "m.pt"))
    assert result.returncode != 0 and "needs --data" in result.stderr
    result = cli("retrain", str(CONFIG), "--out", str(tmp_path / "exp"),
                 "--set=training.layers=head")
    assert result.returncode != 0 and "needs training.mode finetune" in result.stderr
