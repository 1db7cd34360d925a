"""The Python API: a model object fooled from Python, the run read, resumed and exported."""

import json

import pytest
import torch
from conftest import FAKE_CLASSES, FAKE_SHAPE, FixedProjection
from matplotlib.figure import Figure

import evofool
from evofool.errors import ConfigError, EvofoolError, ModelLoadError
from evofool.models import in_memory, load_classifier

NAMES = [f"shape {index}" for index in range(FAKE_CLASSES)]


def fooled(module, out, **settings):
    return evofool.evolve(module, "mnist_cppn", out=out, progress=False,
                          input_shape=FAKE_SHAPE, class_names=NAMES,
                          **{"generations": 4, "algorithm.batch_size": 40, **settings})


def test_a_module_is_fooled_in_one_call_and_left_as_it_was(tmp_path):
    module = FixedProjection().train()
    weights = {key: value.clone() for key, value in module.state_dict().items()}
    run = fooled(module, tmp_path / "run")
    assert module.training and all(torch.equal(weights[key], value)
                                   for key, value in module.state_dict().items())
    assert [champion.name for champion in run.champions] == NAMES
    assert run.summary["generations"] == 4 and run.summary["evaluations"] == 160
    images = run.images()
    assert images.shape == (FAKE_CLASSES, *FAKE_SHAPE) and 0 <= images.min() <= images.max() <= 1
    # the champions' confidences are the module's own probabilities for their images
    with torch.no_grad():
        probabilities = torch.softmax(module.eval()(images), dim=1)
    assert [round(champion.confidence, 4) for champion in run.champions] == \
        [round(float(probabilities[index, index]), 4) for index in range(FAKE_CLASSES)]
    assert isinstance(run.montage(), Figure) and isinstance(run.curve(), Figure)
    assert evofool.open_run(run.run_dir).champions == run.champions


def test_settings_override_keys_as_set_does(tmp_path):
    run = fooled(FixedProjection(), tmp_path / "run", encoding={"type": "direct"},
                 **{"evaluator.engine": "torch"})
    assert run.summary["generations"] == 4
    written = (tmp_path / "run" / "config.yaml").read_text()
    assert "type: direct" in written and "engine: torch" in written


def test_a_resumed_run_needs_its_module_and_ends_as_an_uninterrupted_one(tmp_path,
                                                                        monkeypatch):
    whole = fooled(FixedProjection(), tmp_path / "whole", generations=6)
    part = fooled(FixedProjection(), tmp_path / "part", generations=3)
    monkeypatch.setattr(in_memory, "_HELD", {})  # as in a new Python process
    with pytest.raises(ModelLoadError, match="resume"):
        evofool.open_run(part.run_dir).resume(generations=6, progress=False)
    other = FixedProjection()
    with torch.no_grad():
        other.weight.mul_(2)
    with pytest.raises(EvofoolError, match="not the one this run started with"):
        part.resume(model=other, generations=6, progress=False)
    with pytest.raises(EvofoolError, match="input_shape, mean, std"):
        part.resume(model=FixedProjection(), mean=(0.5,) * 3, std=(0.5,) * 3,
                    generations=6, progress=False)
    part.resume(model=FixedProjection(), generations=6, progress=False)
    assert part.summary["classes"] == whole.summary["classes"]
    assert (part.run_dir / "genomes.json").read_text() == \
        (whole.run_dir / "genomes.json").read_text()


def test_mistakes_are_evofools_own_errors_never_system_exit(tmp_path):
    module = FixedProjection()
    with pytest.raises(ConfigError, match="generations"):
        fooled(module, tmp_path / "a", generations=-1)
    with pytest.raises(ConfigError, match="no shipped config"):
        evofool.evolve(module, "mnist_nothing", input_shape=FAKE_SHAPE)
    with pytest.raises(ConfigError, match="unknown"):
        fooled(module, tmp_path / "b", colour="blue")
    with pytest.raises(EvofoolError, match="input_shape"):
        evofool.evolve(module, progress=False)
    with pytest.raises(EvofoolError, match="nn.Module"):
        evofool.evolve(42, progress=False)
    with pytest.raises(ModelLoadError, match="fails on a 3x9x9 input"):
        evofool.evolve(module, input_shape=(3, 9, 9), progress=False)
    with pytest.raises(ModelLoadError, match="outputs 5 classes but has 2"):
        evofool.evolve(module, input_shape=FAKE_SHAPE, class_names=["a", "b"], progress=False)
    with pytest.raises(EvofoolError, match="not an evofool run"):
        evofool.open_run(tmp_path)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_progress_false_prints_nothing(tmp_path, capsys):
    fooled(FixedProjection(), tmp_path / "run")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_a_module_that_ends_in_a_softmax_scores_as_its_probabilities(tmp_path):
    softmax = torch.nn.Sequential(FixedProjection(), torch.nn.Softmax(dim=1))
    run = fooled(softmax, tmp_path / "run", outputs="probabilities")
    logits = fooled(FixedProjection(), tmp_path / "logits")
    assert [round(c.confidence, 5) for c in run.champions] == \
        [round(c.confidence, 5) for c in logits.champions]


def test_export_gives_the_fooling_images_as_a_dataset(tmp_path):
    run = fooled(FixedProjection(), tmp_path / "run")
    dataset = run.export(tmp_path / "export", min_confidence=0)
    image, target = dataset[0]
    assert len(dataset) == FAKE_CLASSES  # every class's champion, at confidence >= 0
    assert image.shape == FAKE_SHAPE and target == -1


def test_the_command_line_takes_a_shipped_config_by_name(tmp_path, cli, trained_lenet):
    result = cli("run", "mnist_direct", "--out", str(tmp_path / "run"), "--quiet",
                 "--set", "generations=2", "--set", f"model={trained_lenet['path']}")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["generations"] == 2
    result = cli("run", "mnist_nothing", "--out", str(tmp_path / "other"))
    assert result.returncode == 2 and "no shipped config" in result.stderr


def test_the_n_plus_1_experiment_from_python(tmp_path, small_lenets):
    experiment = evofool.retrain(small_lenets[0], "mnist_retrain", out=tmp_path / "exp",
                                 progress=False, rounds=1, **{
                                     "evolution.generations": 4,
                                     "evolution.evaluator.engine": "onnxruntime",
                                     "evolution.algorithm.batch_size": 40,
                                     "training.epochs": 1, "training.natural_images": 1000,
                                     "held_out.enabled": False, "garbage.per_round": 10})
    assert [row["round"] for row in experiment.table] == [0, 1]
    assert isinstance(evofool.open_run(experiment.run_dir), evofool.Experiment)
    assert [run.summary["generations"] for run in experiment.runs()] == [4, 4]
    assert isinstance(experiment.figure(), Figure)


def test_the_n_plus_1_experiment_of_a_module_resumes_with_that_module(tmp_path, monkeypatch):
    """A module of no evofool architecture, from a notebook, is fine-tuned round by round (the
    object is left as it was); its widened rounds rest on it, so a new process needs it
    again to go on."""
    torch.manual_seed(0)
    network = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(28 * 28, 10))
    weights = {key: value.clone() for key, value in network.state_dict().items()}
    settings = {"evolution.generations": 3, "evolution.evaluator.engine": "onnxruntime",
                "evolution.algorithm.batch_size": 40, "training.epochs": 1,
                "training.mode": "finetune", "training.natural_images": 500,
                "training.test_images": 500, "held_out.enabled": False,
                "garbage.per_round": 10}
    experiment = evofool.retrain(network, "mnist_retrain", out=tmp_path / "exp", rounds=1,
                                 input_shape=(1, 28, 28), progress=False, **settings)
    assert [row["round"] for row in experiment.table] == [0, 1]
    assert all(torch.equal(weights[key], value) for key, value in network.state_dict().items())
    monkeypatch.setattr(in_memory, "_HELD", {})  # as in a new Python process
    with pytest.raises(ModelLoadError, match="resume"):
        experiment.resume(rounds=2, force=True, progress=False)
    experiment.resume(model=network, rounds=2, force=True, progress=False)
    assert [row["round"] for row in experiment.table] == [0, 1, 2]
    assert load_classifier(str(experiment.run_dir / "models" / "round-02.pt")).num_classes == 11


def test_an_interrupt_leaves_the_run_resumable_exactly(tmp_path):
    """A kernel interrupt (SIGINT) mid-run: evolve returns the run, stopped after its
    generation and checkpointed, and its resume ends as an uninterrupted run."""
    import signal
    import threading
    import time

    whole = fooled(FixedProjection(), tmp_path / "whole", generations=60)
    metrics = tmp_path / "part" / "metrics.csv"

    def interrupt_once_running():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
                not metrics.exists() or len(metrics.read_text().splitlines()) < 3):
            time.sleep(0.005)
        # to this Python thread, not one of a native pool; Python runs the handler in main
        signal.raise_signal(signal.SIGINT)

    threading.Thread(target=interrupt_once_running, daemon=True).start()
    part = fooled(FixedProjection(), tmp_path / "part", generations=60)
    stopped_at = part.summary["generations"]
    assert 2 <= stopped_at < 60
    part.resume(model=FixedProjection(), progress=False)
    assert part.summary["generations"] == 60
    assert part.summary["classes"] == whole.summary["classes"]


def test_detectors_defences_and_other_models_from_python(tmp_path):
    """``evofool.ood_report``, ``defend`` and ``transfer`` take the module itself; a run's reports
    go where the browser shows them."""
    module = FixedProjection()
    run = fooled(module, tmp_path / "run", generations=10)
    images = torch.randint(0, 256, (64, *FAKE_SHAPE), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        labels = module(images.float() / 255).argmax(dim=1)
    natural = tmp_path / "natural.pt"
    torch.save({"images": images, "labels": labels}, natural)
    fed = {"input_shape": FAKE_SHAPE, "class_names": NAMES, "progress": False,
           "in_distribution": str(natural), "min_confidence": 0}

    report = evofool.ood_report(module, run, detectors=["msp", "energy"], **fed)
    assert {(row["detector"], row["ood_set"]) for row in report.rows} >= {
        ("energy", "uniform-noise"), ("msp", "gaussian-noise")}
    assert json.loads((run.run_dir / "ood" / "ood.json").read_text())["rows"] == report.rows
    defended = evofool.defend(module, [run], defenses=["jpeg:quality=25"], **fed)
    assert defended.row("none", str(run.run_dir))["clean_accuracy"] == 1.0  # its own labels
    assert (run.run_dir / "defend" / "defend.json").exists()

    negated = FixedProjection()
    with torch.no_grad():
        negated.weight.neg_()  # ranks every class the other way round
    matrix = evofool.transfer(run, [module, negated])
    assert matrix.confidence[1] == pytest.approx(matrix.confidence[0], abs=1e-6)
    assert matrix.top1[1] == matrix.top1[0] and matrix.agreement(0) > 0
    assert matrix.agreement(2) == 0 and matrix.models[2].endswith("(models[1])")
    assert (run.run_dir / "transfer" / "transfer.json").exists()
    with pytest.raises(EvofoolError, match="unknown typo"):
        evofool.ood_report(module, run, detectors=["typo"], **fed)
