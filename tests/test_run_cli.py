"""Real end-to-end runs of `evofool run` on tiny budgets."""

import json
from pathlib import Path

import pytest
import yaml

from evofool.engines import engines

CONFIGS = Path(__file__).parents[1] / "configs"


@pytest.mark.parametrize("config", ["mnist_cppn.yaml", "mnist_direct.yaml", "mnist_ga.yaml"])
def test_tiny_run_writes_champions_and_summary(cli, trained_lenet, tmp_path, config):
    out = tmp_path / "run"
    result = cli("run", str(CONFIGS / config), "--out", str(out), "--set", "generations=4",
                 "--set", f"model={trained_lenet['path']}", "--set", "seed=1")
    assert result.returncode == 0, result.stderr
    final = json.loads(result.stdout.strip().splitlines()[-1])
    assert final["run_dir"] == str(out) and final["generations"] == 4
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"generations", "evaluations", "wall_seconds", "median_confidence",
                            "classes_at_0.99", "classes", "engine", "evaluations_per_s_overall",
                            "gradient_steps"}
    assert summary["classes_at_0.99"] == sum(c["confidence"] >= 0.99 for c in summary["classes"])
    assert summary["engine"] in [engine.name for engine in engines() if engine.exact]
    classes = summary["classes"]
    assert len(classes) == 10
    assert set(classes[0]) == {"class", "name", "confidence", "generation", "genome_id",
                               "evaluations_to_0.99"}
    pngs = sorted(p.name for p in (out / "champions").glob("*.png"))
    assert len(pngs) == 10 and pngs[3].startswith("class-0003-3-")
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["seed"] == 1 and resolved["generations"] == 4
    assert (out / ("genomes.npz" if "direct" in config else "genomes.json")).exists()
    # one median everywhere: the mean of the two middle values of ten classes
    middle = sorted(entry["confidence"] for entry in classes)[4:6]
    last_row = (out / "metrics.csv").read_text().splitlines()[-1].split(",")
    assert summary["median_confidence"] == final["median_confidence"] == sum(middle) / 2
    assert float(last_row[3]) == pytest.approx(sum(middle) / 2, rel=1e-12, abs=0)
    assert "distinct images" in result.stderr


def test_all_classes_threshold_stops_early(cli, trained_lenet, tmp_path):
    result = cli("run", str(CONFIGS / "mnist_cppn.yaml"), "--out", str(tmp_path / "r"),
                 "--set", "generations=500", "--set", "stop_when_all_at=0.5",
                 "--set", f"model={trained_lenet['path']}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["generations"] < 500


@pytest.mark.parametrize("overrides, message", [
    (["colour=red"], "unknown config key 'colour'"),
    (["algorithm.batch_size=0"], "batch_size must be positive"),
    (["algorithm.brightness_bins=0"], "brightness_bins must be positive"),
    (["seed=x"], "seed must be an integer"),
    (["model=/no/such/model.pt"], "model not found"),
    (["encoding.height=32"], "takes only 28x28"),
    (["algorithm.targets=[12]"], "class 12 does not exist"),
])
def test_bad_configs_are_one_line_errors(cli, trained_lenet, tmp_path, overrides, message):
    config = "mnist_ga.yaml" if "targets" in overrides[0] else "mnist_cppn.yaml"
    args = ["run", str(CONFIGS / config), "--out", str(tmp_path / "r"),
            "--set", f"model={trained_lenet['path']}"]
    for override in overrides:
        args += ["--set", override]
    result = cli(*args)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert message in result.stderr


def test_corrupt_model_file_is_one_line(cli, tmp_path):
    corrupt = tmp_path / "model.pt"
    corrupt.write_bytes(b"PK\x03\x04 truncated zip")
    result = cli("run", str(CONFIGS / "mnist_cppn.yaml"), "--out", str(tmp_path / "r"),
                 "--set", f"model={corrupt}")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "corrupt, truncated" in result.stderr
    assert not (tmp_path / "r").exists()


def test_existing_run_directory_is_left_alone(cli, trained_lenet, tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "summary.json").write_text("precious")
    result = cli("run", str(CONFIGS / "mnist_cppn.yaml"), "--out", str(out),
                 "--set", f"model={trained_lenet['path']}")
    assert result.returncode == 2 and "already exists" in result.stderr
    assert (out / "summary.json").read_text() == "precious"


def test_missing_default_lenet_is_trained_first_and_said(tmp_path, monkeypatch, capsys,
                                                          trained_lenet):
    import shutil

    from evofool.run import builder as components
    from evofool.run.config import config_from_dict
    from evofool.training import TrainingResult

    monkeypatch.setenv("EVOFOOL_CACHE", str(tmp_path))
    trained = []

    def fake_training(out):  # stands in for 90 s of real training (tested elsewhere)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(trained_lenet["path"], out)
        trained.append(out)
        return TrainingResult(test_accuracy=0.99, path=out)

    monkeypatch.setattr(components, "train_mnist_lenet", fake_training)
    classifier = components.build_classifier(config_from_dict({"generations": 1}))
    assert trained == [tmp_path / "models" / "mnist-lenet.pt"]
    assert classifier.num_classes == 10
    assert "training it first" in capsys.readouterr().err
    components.build_classifier(config_from_dict({"generations": 1}))
    assert len(trained) == 1  # trained once, then reused


def test_quiet_prints_only_the_json_line(cli, trained_lenet, tmp_path):
    result = cli("run", str(CONFIGS / "mnist_cppn.yaml"), "--out", str(tmp_path / "run"),
                 "--set", "generations=2", "--set", f"model={trained_lenet['path']}", "--quiet",
                 "--set", "evaluator.engine=torch")  # no one-time ONNX export notice
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert json.loads(result.stdout)["generations"] == 2


def test_champion_file_names_never_round_up_to_one():
    from evofool.run.outputs import champion_image_name

    assert "-0.999999-g7.png" in champion_image_name(3, "three", 0.99999976, 7)
    assert "-1.000000-g7.png" in champion_image_name(3, "three", 1.0, 7)
