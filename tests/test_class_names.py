"""Class names enter in two places, a model and an image folder's class directories, and
both refuse in one line what a later consumer (export, transfer, plot, the browser, a
message) could not carry; each case below once failed in one of those consumers."""

import json
import os

import pytest
import torch
from conftest import MNIST_SPEC, refused_in_one_line, rgb_folder

from evofool.models import LeNet
from evofool.models.checkpoint import CheckpointInfo, save_checkpoint


@pytest.mark.parametrize("name, message", [(b"caf\xe9", "is not UTF-8 text"),
                                           (b"two\nlines", "holds a control character")])
def test_a_class_folder_whose_name_is_no_text_is_refused_before_training(tmp_path, cli, name,
                                                                         message):
    data = rgb_folder(tmp_path / "rgb", per_class=5)
    os.rename(data / "red", os.path.join(bytes(data), name))
    result = cli("train", "small-cnn", "--data", str(data), "--out", str(tmp_path / "m.pt"),
                 "--size", "8", "--epochs", "1")
    refused_in_one_line(result, message)
    assert not (tmp_path / "m.pt").exists()


def test_an_empty_class_folder_is_named_when_skipped(tmp_path, cli):
    data = rgb_folder(tmp_path / "rgb", per_class=5)
    (data / "violet").mkdir()
    result = cli("train", "small-cnn", "--data", str(data), "--out", str(tmp_path / "m.pt"),
                 "--size", "8", "--epochs", "1")
    assert result.returncode == 0, result.stderr
    assert "skipping 1 class folder(s) without images: 'violet'" in result.stderr


def test_a_checkpoint_whose_class_names_are_no_text_leaves_no_run(tmp_path, cli):
    model = tmp_path / "numbers.pt"
    save_checkpoint(LeNet(), CheckpointInfo(class_names=tuple(range(10)), input_spec=MNIST_SPEC,
                                            test_accuracy=None, seed=0, epochs=0), model)
    result = cli("run", "configs/mnist_cppn.yaml", "--out", str(tmp_path / "run"), "--quiet",
                 "--set", f"model={model}", "--set", "generations=1")
    refused_in_one_line(result, "int 0 is not text")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("sidecar, message", [
    ({"input_spec": {"channels": 1, "height": 28, "width": 28}, "class_names": 5},
     "class_names must be a list of names"),
    ("[" * 100_000 + "]" * 100_000, "nested too deep"),
    ([1, 2], "not an object")])
def test_a_crafted_sidecar_isrefused_in_one_line(tmp_path, cli, sidecar, message):
    model = tmp_path / "net.pt"
    torch.jit.script(LeNet()).save(str(model))
    text = sidecar if isinstance(sidecar, str) else json.dumps(sidecar)
    (tmp_path / "net.json").write_text(text)
    result = cli("classify", str(model), str(tmp_path / "net.json"))
    refused_in_one_line(result, message)
