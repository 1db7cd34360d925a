"""`evofool train --out` writes a new model file or replaces an evofool model with
--overwrite, and nothing else: not a run's store, an experiment's round model, a device, a
directory or a stranger's file (each was once replaced, or a traceback)."""

import os
import shutil
import stat

import pytest
from conftest import refused_in_one_line, rgb_folder

from evofool.models import load_classifier


def _train(cli, out, *extra):
    return cli("train", "mnist-lenet", "--epochs", "1", "--out", str(out), *extra)



@pytest.mark.parametrize("inside", ["run.sqlite", "config.yaml", "model.pt"])
def test_a_file_inside_a_run_is_never_written(tiny_cppn_run, tmp_path, cli, inside):
    run = shutil.copytree(tiny_cppn_run, tmp_path / "run")
    before = {path: path.read_bytes() for path in run.rglob("*") if path.is_file()}
    for overwrite in ([], ["--overwrite"]):
        refused_in_one_line(_train(cli, run / inside, *overwrite),
                            "lies inside the run or experiment")
    assert {path: path.read_bytes() for path in run.rglob("*") if path.is_file()} == before


def test_an_experiments_round_model_is_never_written(tiny_retrain, tmp_path, cli):
    experiment = shutil.copytree(tiny_retrain[0], tmp_path / "exp")
    model = experiment / "models" / "round-01.pt"
    before = model.read_bytes()
    refused_in_one_line(_train(cli, model, "--overwrite"), "lies inside the run or experiment")
    assert model.read_bytes() == before


@pytest.mark.parametrize("out, message", [
    ("", "directory"), (".", "is a directory"), ("/", "names a directory"),
    ("/dev/null", "not a regular file"), ("/proc/version", "exists; pass --overwrite")])
def test_paths_that_name_no_new_model_file_are_one_line(cli, out, message):
    refused_in_one_line(_train(cli, out), message)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_directory_is_refused_and_no_partial_file_is_left(tmp_path, cli):
    folder = tmp_path / "models"
    folder.mkdir()
    refused_in_one_line(_train(cli, folder), "is a directory")
    assert list(tmp_path.iterdir()) == [folder] and not any(folder.iterdir())


def test_an_existing_file_needs_overwrite_and_must_be_an_evofool_model(tmp_path, cli,
                                                                      small_lenets):
    stranger = tmp_path / "notes.pt"
    stranger.write_text("my notes")
    refused_in_one_line(_train(cli, stranger), "exists; pass --overwrite")
    refused_in_one_line(_train(cli, stranger, "--overwrite"), "not an evofool model file")
    assert stranger.read_text() == "my notes"
    model = tmp_path / "mine.pt"
    shutil.copy(small_lenets[0], model)
    refused_in_one_line(_train(cli, model), "exists; pass --overwrite")
    data = rgb_folder(tmp_path / "rgb", per_class=5)
    result = cli("train", "small-cnn", "--data", str(data), "--out", str(model), "--size", "8",
                 "--epochs", "1", "--overwrite")
    assert result.returncode == 0, result.stderr
    assert load_classifier(str(model)).class_names == ("blue", "green", "red")
