"""Mistakes that were internal errors, hangs or leftovers are one line and leave nothing
(issue 46's list: sizes without bounds, a huge CMA-ME step, a FIFO, an IPv6 host, a failed
plot)."""

import os
import subprocess
import sys

import pytest
import torch
from conftest import CONFIGS, refused_in_one_line, rgb_folder

from evofool.cli.browse import url_host
from evofool.models import InputSpec, LeNet
from evofool.models.checkpoint import CheckpointInfo, save_checkpoint


@pytest.mark.parametrize("size", ["1", "3", "100000"])
def test_a_small_cnn_size_out_of_range_isrefused_in_one_line(tmp_path, cli, size):
    data = rgb_folder(tmp_path / "rgb", per_class=5)
    result = cli("train", "small-cnn", "--data", str(data), "--out", str(tmp_path / "m.pt"),
                 "--size", size)
    refused_in_one_line(result, "small-cnn size must be 4..512 pixels")


def test_a_huge_cma_me_step_is_refused_before_the_run_exists(tmp_path, cli):
    result = cli("run", str(CONFIGS / "mnist_cppn.yaml"), "--out", str(tmp_path / "run"),
                 "--set", "algorithm.type=cma_me", "--set", "algorithm.sigma=1e308")
    refused_in_one_line(result, "algorithm.sigma must be at most 100")
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_declaring_a_huge_input_is_refused(tmp_path, cli):
    spec = InputSpec(channels=1, height=28, width=28)
    model = tmp_path / "huge.pt"
    save_checkpoint(LeNet(), CheckpointInfo(class_names=tuple("0123456789"), input_spec=spec,
                                            test_accuracy=None, seed=0, epochs=0), model)
    payload = torch.load(model, weights_only=True)
    payload["input_spec"].update(height=3000, width=3000)
    torch.save(payload, model)
    image = tmp_path / "x.png"
    image.write_bytes(b"")
    refused_in_one_line(cli("classify", str(model), str(image)), "input size must be at most 2048")


def test_classify_of_a_fifo_is_one_line_not_a_hang(tmp_path, trained_lenet):
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "evofool", "classify", trained_lenet["path"],
                             str(fifo)], capture_output=True, text=True, timeout=60)
    refused_in_one_line(result, "not a regular file")


def test_an_ipv6_host_is_written_in_brackets():
    assert url_host("::1") == "[::1]" and url_host("127.0.0.1") == "127.0.0.1"


def test_a_failed_plot_leaves_no_empty_out(tiny_cppn_run, tmp_path, cli, monkeypatch):
    from evofool.analysis import figure_style

    def broken(figure):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(figure_style, "to_png", broken)
    result = cli("plot", str(tiny_cppn_run), "--out", str(tmp_path / "plots"))
    refused_in_one_line(result, "No space left on device")
    assert not (tmp_path / "plots").exists()
