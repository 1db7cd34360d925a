"""`evofool export`: datasets other tools load, a manifest per image, nothing half-written."""

import csv
import json
import shutil
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from conftest import CONFIGS, run_in_process
from PIL import Image

from evofool.analysis.datasets import FoolingImages
from evofool.analysis.export import ExportRequest, export
from evofool.cli.main import main
from evofool.errors import EvofoolError
from evofool.models import load_classifier
from evofool.store import RunStore
from evofool.vision_libs import import_pytorch_ood, import_torchvision


def _manifest(out):
    with open(out / "manifest.csv") as handle:
        return list(csv.DictReader(handle))


def _champions(run_dir, threshold=0.99):
    store = RunStore(run_dir, read_only=True)
    try:
        return [c for c in store.champions() if c.confidence >= threshold]
    finally:
        store.close()


def test_imagefolder_export_loads_with_torchvision(tiny_cppn_run, tmp_path, cli):
    datasets = import_torchvision().datasets
    out = tmp_path / "folder"
    result = cli("export", str(tiny_cppn_run), "--format", "imagefolder", "--out", str(out),
                 "--min-confidence", "0.5")
    assert result.returncode == 0, result.stderr
    rows = _manifest(out)
    assert json.loads(result.stdout.splitlines()[-1])["images"] == len(rows)
    assert len(rows) == len(_champions(tiny_cppn_run, 0.5)) > 0
    dataset = datasets.ImageFolder(str(out))
    assert len(dataset) == len(rows)
    # Folders sort by zero-padded class index, so ImageFolder's labels are the class order.
    image, label = dataset[0]
    assert image.size == (28, 28)
    assert dataset.classes[label].startswith(f"{int(rows[0]['class']):04d}-")
    assert set(rows[0]) == {"index", "file", "run", "class", "class_name", "confidence",
                            "generation", "genome_id", "model", "encoding"}


def test_pt_and_npz_hold_the_same_images_labels_and_names(tiny_cppn_run, tmp_path):
    for fmt in ("pt", "npz"):
        export(ExportRequest(run_dirs=[tiny_cppn_run], out=tmp_path / fmt, format=fmt,
                             min_confidence=0.5, include_history=True))
    saved = torch.load(tmp_path / "pt" / "fooling.pt", weights_only=True)
    arrays = np.load(tmp_path / "npz" / "fooling.npz")
    assert saved["images"].dtype == torch.uint8 and saved["images"].shape[1:] == (1, 28, 28)
    assert np.array_equal(saved["images"].numpy(), arrays["images"])
    assert np.array_equal(saved["labels"].numpy(), arrays["labels"])
    assert saved["class_names"] == list(arrays["class_names"]) == [str(i) for i in range(10)]
    rows = _manifest(tmp_path / "pt")
    assert [int(row["class"]) for row in rows] == saved["labels"].tolist()
    assert len(rows) > len(_champions(tiny_cppn_run, 0.5))  # history adds earlier champions


def test_exported_pixels_are_the_champion_pngs(tiny_cppn_run, tmp_path):
    export(ExportRequest(run_dirs=[tiny_cppn_run], out=tmp_path / "x", format="npz",
                         min_confidence=0.0))
    arrays = np.load(tmp_path / "x" / "fooling.npz")
    for row, image in zip(_manifest(tmp_path / "x"), arrays["images"], strict=True):
        (png,) = (tiny_cppn_run / "champions").glob(f"class-{int(row['class']):04d}-*.png")
        assert np.array_equal(np.asarray(Image.open(png)), image[0])


def test_export_is_deterministic(tiny_cppn_run, tmp_path):
    for name in ("a", "b"):
        export(ExportRequest(run_dirs=[tiny_cppn_run], out=tmp_path / name, format="npz",
                             min_confidence=0.0, include_history=True))
    assert (tmp_path / "a" / "manifest.csv").read_text() == \
        (tmp_path / "b" / "manifest.csv").read_text()
    first, second = (np.load(tmp_path / name / "fooling.npz") for name in ("a", "b"))
    assert np.array_equal(first["images"], second["images"])


def test_class_filter_by_index_and_name(tiny_cppn_run, tmp_path):
    export(ExportRequest(run_dirs=[tiny_cppn_run], out=tmp_path / "x", format="npz",
                         min_confidence=0.0, classes=["3", "7"]))
    assert {row["class"] for row in _manifest(tmp_path / "x")} == {"3", "7"}
    with pytest.raises(EvofoolError, match="'eleven' is no class"):
        export(ExportRequest(run_dirs=[tiny_cppn_run], out=tmp_path / "y", format="npz",
                             classes=["eleven"]))


def test_refuses_occupied_output_and_overwrites_only_an_export(tiny_cppn_run, tmp_path, cli):
    out = tmp_path / "x"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    args = ["export", str(tiny_cppn_run), "--format", "npz", "--out", str(out),
            "--min-confidence", "0"]
    refused = cli(*args)
    assert refused.returncode == 2 and "not empty" in refused.stderr
    refused = cli(*args, "--overwrite")
    assert refused.returncode == 2 and "is not one: it has no manifest.csv" in refused.stderr
    assert (out / "notes.txt").read_text() == "mine"
    (out / "notes.txt").unlink()
    assert cli(*args).returncode == 0
    again = cli(*args[:3], "pt", *args[4:], "--overwrite")
    assert again.returncode == 0, again.stderr
    assert sorted(p.name for p in out.iterdir()) == ["fooling.pt", "manifest.csv"]
    assert not list(tmp_path.glob(".x.*"))  # no partial or old copies left behind


def test_nothing_above_threshold_says_so_and_writes_nothing(tiny_cppn_run, tmp_path, cli):
    out = tmp_path / "x"
    weakest = min(json.loads((tiny_cppn_run / "summary.json").read_text())["classes"],
                  key=lambda entry: entry["confidence"])
    assert weakest["confidence"] < 1
    result = cli("export", str(tiny_cppn_run), "--format", "npz", "--out", str(out),
                 "--classes", str(weakest["class"]),
                 "--min-confidence", str((weakest["confidence"] + 1) / 2))
    assert result.returncode == 2 and "nothing to export" in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists() and not list(tmp_path.iterdir())


def test_rounds_need_a_retrain_directory(tiny_cppn_run, tmp_path):
    with pytest.raises(EvofoolError, match="--rounds selects rounds"):
        export(ExportRequest(run_dirs=[tiny_cppn_run], out=tmp_path / "x", format="npz",
                             rounds=[0]))


def test_not_a_run_is_one_line(tmp_path, cli):
    result = cli("export", str(tmp_path), "--format", "npz", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "is not an evofool run" in result.stderr


def test_every_format_reads_back_through_fooling_images_alike(tiny_cppn_run, tmp_path):
    for fmt in ("imagefolder", "openood", "pt", "npz"):
        export(ExportRequest(run_dirs=[tiny_cppn_run], out=tmp_path / fmt, format=fmt,
                             min_confidence=0.5, include_history=True))
    datasets = {fmt: FoolingImages(tmp_path / fmt) for fmt in ("imagefolder", "openood", "pt",
                                                                 "npz")}
    reference = torch.stack([image for image, _ in datasets["pt"]])
    assert reference.shape[1:] == (1, 28, 28) and 0 <= reference.min() <= reference.max() <= 1
    for dataset in datasets.values():
        assert torch.equal(torch.stack([image for image, _ in dataset]), reference)
        assert set(dataset.targets) == {-1}
    fooled = FoolingImages(tmp_path / "pt", targets="fooled")
    assert fooled.targets == [int(row["class"]) for row in _manifest(tmp_path / "pt")]


def test_openood_list_names_every_png_with_its_label(tiny_cppn_run, tmp_path):
    export(ExportRequest(run_dirs=[tiny_cppn_run], out=tmp_path / "ood", format="openood",
                         min_confidence=0.5))
    export(ExportRequest(run_dirs=[tiny_cppn_run], out=tmp_path / "fooled", format="openood",
                         min_confidence=0.5, labels="fooled"))
    rows = _manifest(tmp_path / "ood")
    lines = (tmp_path / "ood" / "openood.txt").read_text().splitlines()
    assert lines == [f"{row['file']} -1" for row in rows]
    assert all((tmp_path / "ood" / line.split()[0]).exists() for line in lines)
    assert (tmp_path / "fooled" / "openood.txt").read_text().splitlines() == [
        f"{row['file']} {row['class']}" for row in rows]


def test_fooling_images_feed_a_pytorch_ood_detector(tiny_cppn_run, tmp_path, trained_lenet,
                                                    mnist):
    """A DataLoader over an export goes straight into pytorch-ood: its targets mark OOD."""
    try:
        ood = import_pytorch_ood()
    except ImportError:
        pytest.skip("the ood extra (pytorch-ood) is not installed")
    from sklearn.metrics import roc_auc_score

    export(ExportRequest(run_dirs=[tiny_cppn_run], out=tmp_path / "pt", format="pt",
                         min_confidence=0.5, include_history=True))
    classifier = load_classifier(trained_lenet["path"])
    detector = ood.detector.EnergyBased(classifier.logits)
    metrics = ood.metrics.OODMetrics()
    scores, targets = [], []
    for images, batch_targets in torch.utils.data.DataLoader(FoolingImages(tmp_path / "pt"),
                                                             batch_size=64):
        scores.append(detector(images).detach())
        targets.append(batch_targets)
    digits = torch.from_numpy(mnist.test_images[:256]).unsqueeze(1).float() / 255
    scores.append(detector(digits).detach())
    targets.append(torch.from_numpy(mnist.test_labels[:256]).long())
    scores, targets = torch.cat(scores), torch.cat(targets)
    metrics.update(scores, targets)
    assert metrics.compute()["AUROC"] == pytest.approx(
        roc_auc_score((targets < 0).numpy(), scores.numpy()), abs=1e-6)


def test_labels_need_the_openood_format(tiny_cppn_run, tmp_path, cli):
    result = cli("export", str(tiny_cppn_run), "--format", "pt", "--labels", "fooled",
                 "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "needs --format openood" in result.stderr


def test_runs_whose_names_reduce_alike_keep_every_image(tiny_cppn_run, tmp_path):
    dashed, underscored = tmp_path / "cppn-a", tmp_path / "cppn_a"
    shutil.copytree(tiny_cppn_run, dashed)
    shutil.copytree(tiny_cppn_run, underscored)
    out = tmp_path / "folder"
    count = export(ExportRequest([dashed, underscored], out, "imagefolder", min_confidence=0))
    rows = _manifest(out)
    assert count == len(rows) == 2 * len(_champions(tiny_cppn_run, 0))
    assert len({row["file"] for row in rows}) == len(rows)
    assert len(list(out.rglob("*.png"))) == len(rows)


def test_a_run_given_twice_is_refused(tiny_cppn_run, tmp_path):
    with pytest.raises(EvofoolError, match="is given twice"):
        export(ExportRequest([tiny_cppn_run, tiny_cppn_run / "."], tmp_path / "out", "npz",
                             min_confidence=0))
    assert not (tmp_path / "out").exists()


def _one_line_error(capsys, code):
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


@pytest.mark.parametrize("intruder", ["run", "deep-run", "notes", "retrain", "symlink"])
def test_overwrite_removes_only_what_an_export_wrote(tiny_cppn_run, tmp_path, capsys,
                                                      intruder):
    """A directory that holds an export's manifest beside anything else (a run copied in,
    a run two levels down, a note, an experiment's store, a link) is refused, untouched."""
    out = tmp_path / "d"
    args = ["export", str(tiny_cppn_run), "--format", "imagefolder", "--out", str(out),
            "--min-confidence", "0"]
    assert main(args) == 0
    capsys.readouterr()
    stranger = {"run": out / "run1", "deep-run": out / "0000-0" / "deeprun",
                "notes": out / "notes.txt", "retrain": out / "retrain.sqlite",
                "symlink": out / "0000-0" / "link.png"}[intruder]
    if intruder in ("run", "deep-run"):
        shutil.copytree(tiny_cppn_run, stranger)
    elif intruder == "symlink":
        stranger.symlink_to(tiny_cppn_run / "summary.json")
    else:
        stranger.write_text("mine")
    before = sorted(path.relative_to(out) for path in out.rglob("*"))
    err = _one_line_error(capsys, main([*args, "--overwrite"]))
    assert "is not one: it" in err
    assert sorted(path.relative_to(out) for path in out.rglob("*")) == before
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".")]


def test_a_manifest_alone_does_not_make_a_directory_an_export(tiny_cppn_run, tmp_path, capsys):
    out = tmp_path / "d"
    shutil.copytree(tiny_cppn_run, out / "run1")
    (out / "manifest.csv").write_text("")
    err = _one_line_error(capsys, main(["export", str(tiny_cppn_run), "--format", "npz",
                                        "--out", str(out), "--overwrite"]))
    assert "its manifest.csv is not an export's" in err and (out / "run1" / "run.sqlite").exists()


def test_a_failed_export_leaves_no_hidden_directory(tiny_cppn_run, tmp_path, capsys):
    damaged = tmp_path / "runs" / "damaged"
    shutil.copytree(tiny_cppn_run, damaged)
    connection = sqlite3.connect(damaged / "run.sqlite")
    connection.execute("UPDATE genomes SET payload = ?", (b'J{"outputs":null}',))
    connection.commit()
    connection.close()
    err = _one_line_error(capsys, main(["export", str(damaged), "--format", "pt", "--out",
                                        str(tmp_path / "out"), "--min-confidence", "0"]))
    assert "is damaged" in err and "genome" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["runs"]
    for out in ("", "/"):
        err = _one_line_error(capsys, main(["export", str(tiny_cppn_run), "--format", "npz",
                                            "--out", out, "--overwrite"]))
        assert "--out" in err
    assert sorted(path.name for path in tmp_path.iterdir()) == ["runs"]


def _export_process(run_dir, out, fmt):
    return subprocess.Popen([sys.executable, "-m", "evofool", "export", str(run_dir),
                             "--format", fmt, "--out", str(out), "--min-confidence", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_exports_into_one_out_at_once_leave_one_whole_export(thousand_class_run, tmp_path):
    """Both once printed 'exported' and exited 0, and only one export was left: the second
    to finish had moved the first aside and deleted it."""
    out = tmp_path / "shared"
    processes = [_export_process(thousand_class_run, out, fmt) for fmt in ("imagefolder", "npz")]
    results = [(process.wait(timeout=120), *process.communicate()) for process in processes]
    succeeded = [code == 0 for code, _, _ in results]
    assert succeeded.count(True) == 1, results
    code, _, err = results[succeeded.index(False)]
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    fmt = ("imagefolder", "npz")[succeeded.index(True)]
    assert len(_manifest(out)) == 1000 and (out / "fooling.npz").exists() == (fmt == "npz")


def test_a_run_started_into_out_during_an_export_is_refused_and_nothing_is_deleted(
        thousand_class_run, tmp_path, trained_lenet):
    """An export once checked --out, then moved whatever stood there at the end aside and
    deleted it: a run started into the same path meanwhile lost run.sqlite and config."""
    out = tmp_path / "contested"
    export = _export_process(thousand_class_run, out, "imagefolder")
    while not list(tmp_path.glob(".contested.partial-*")) and export.poll() is None:
        time.sleep(0.005)
    assert export.poll() is None, "the export ended before it could be contested"
    run = run_in_process("run", str(CONFIGS / "mnist_cppn.yaml"), "--out", str(out), "--quiet",
                         "--set", "generations=1", "--set", f"model={trained_lenet['path']}")
    code, _, err = export.wait(timeout=120), *export.communicate()
    if run.returncode == 0:  # it got in first: the export must then leave it whole
        assert (out / "run.sqlite").exists() and code == 2, err
    else:
        assert "being written by" in run.stderr and code == 0, (run.stderr, err)
        assert len(_manifest(out)) == 1000
