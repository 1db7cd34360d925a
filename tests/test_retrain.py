"""The n+1 experiment on two tiny rounds: table, models, garbage set, exact resume."""

import csv
import json
import shutil
import signal
import sqlite3

import pytest
from conftest import RETRAIN_CONFIG as CONFIG
from conftest import tiny_retrain_overrides as tiny

from evofool.errors import EvofoolError
from evofool.models import load_classifier
from evofool.n_plus_one import experiment as experiment_module
from evofool.n_plus_one.config import load_retrain_config
from evofool.n_plus_one.experiment import RetrainExperiment
from evofool.n_plus_one.store import RetrainStore
from evofool.run.recorder import RunRecorder
from evofool.store.retrain_layout import round_model_path

TIMING = ("evolve_seconds", "train_seconds", "model")




@pytest.fixture
def experiment(tiny_retrain):
    return tiny_retrain


def _rows(directory):
    with open(directory / "rounds.csv") as handle:
        return list(csv.DictReader(handle))


def _garbage(directory):
    connection = sqlite3.connect(directory / "retrain.sqlite")
    try:
        return connection.execute("SELECT round, run, class, confidence, generation, genome_id,"
                                  " pixels FROM garbage ORDER BY id").fetchall()
    finally:
        connection.close()


def test_two_rounds_write_table_plot_models_and_garbage(experiment):
    directory, final = experiment
    rows = _rows(directory)
    assert [row["round"] for row in rows] == ["0", "1", "2"] and final["rounds_done"] == 3
    assert rows[0]["earlier_garbage_share"] == ""  # round 0 has no earlier garbage
    for row in rows[1:]:
        assert 0 <= float(row["earlier_garbage_share"]) <= 1
        assert float(row["test_accuracy"]) > 0.8
    assert int(rows[2]["garbage_total"]) == sum(int(row["garbage_added"]) for row in rows)
    assert json.loads((directory / "rounds.json").read_text())[1]["round"] == 1
    assert (directory / "rounds.png").stat().st_size > 0
    model = load_classifier(str(round_model_path(directory, 2)))
    assert model.num_classes == 11 and model.class_names[-1] == "garbage"
    garbage = _garbage(directory)
    assert len(garbage) == int(rows[2]["garbage_total"]) > 0
    round_index, run, fooled, confidence, _, _, pixels = garbage[0]
    assert run == "round-00" and 0 <= fooled < 10 and confidence >= 0.99
    assert len(pixels) == 28 * 28


def test_held_out_images_are_measured_and_never_trained_on(experiment, tmp_path):
    directory, _ = experiment
    rows = _rows(directory)
    assert rows[0]["held_out_garbage_share"] == ""  # no earlier round's held-out images
    assert int(rows[0]["held_out_images"]) > 0
    for row in rows:  # a tiny run may find no image at 0.99 against a retrained model
        for detector in ("msp", "energy", "mahalanobis"):
            auroc = row[f"held_out_auroc_{detector}"]
            assert 0 <= float(auroc) <= 1 if int(row["held_out_images"]) else auroc == ""
    for row, previous in zip(rows[1:], rows, strict=False):
        share = row["held_out_garbage_share"]
        assert 0 <= float(share) <= 1 if int(previous["held_out_images"]) else share == ""
    assert {run for _, run, *_ in _garbage(directory)} <= {"round-00", "round-01", "round-02"}
    held_out = json.loads((directory / "held-out" / "round-01" / "summary.json").read_text())
    assert held_out["classes"]  # an independent run (its own seed) against round 1's model
    connection = sqlite3.connect(directory / "retrain.sqlite")
    try:
        stored = connection.execute("SELECT round, COUNT(*) FROM held_out GROUP BY round"
                                    ).fetchall()
    finally:
        connection.close()
    assert stored == [(int(row["round"]), int(row["held_out_images"])) for row in rows
                      if int(row["held_out_images"])]


def test_a_store_from_before_held_out_images_is_upgraded_in_place(experiment, tmp_path):
    directory, _ = experiment
    copy = tmp_path / "old"
    copy.mkdir()
    shutil.copy(directory / "retrain.sqlite", copy / "retrain.sqlite")
    connection = sqlite3.connect(copy / "retrain.sqlite")
    with connection:  # what a version-1 store held
        for column in ("held_out_images", "held_out_garbage_share", "held_out_auroc"):
            connection.execute(f"ALTER TABLE rounds DROP COLUMN {column}")
        connection.execute("DROP TABLE held_out")
        connection.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    connection.close()
    store = RetrainStore(copy)
    try:
        rounds = store.rounds()
        assert store.get_meta("schema_version") == 2
    finally:
        store.close()
    assert len(rounds) == 3 and all(record.held_out_images is None for record in rounds)


def test_rounds_evolve_no_garbage_champion(experiment):
    directory, _ = experiment
    summary = json.loads((directory / "rounds" / "round-02" / "summary.json").read_text())
    assert {entry["class"] for entry in summary["classes"]} <= set(range(10))


def test_export_and_transfer_read_rounds(experiment, tmp_path, cli):
    directory, _ = experiment
    result = cli("export", str(directory), "--rounds", "1", "2", "--format", "npz",
                 "--out", str(tmp_path / "x"), "--min-confidence", "0")
    assert result.returncode == 0, result.stderr
    with open(tmp_path / "x" / "manifest.csv") as handle:
        runs = {row["run"] for row in csv.DictReader(handle)}
    assert runs == {"exp-round-01", "exp-round-02"}
    missing = cli("export", str(directory), "--rounds", "7", "--format", "npz",
                  "--out", str(tmp_path / "y"))
    assert missing.returncode == 2 and "no run for round 7" in missing.stderr
    transfer = cli("transfer", str(directory / "rounds" / "round-00"), "--models",
                   str(round_model_path(directory, 1)), "--out", str(tmp_path / "t"))
    assert transfer.returncode == 0, transfer.stderr


def test_interrupted_between_and_within_rounds_resumes_exactly(experiment, small_lenets,
                                                              tmp_path, monkeypatch):
    reference, _ = experiment
    directory = tmp_path / "exp"
    config = load_retrain_config(CONFIG, tiny(small_lenets[0]))

    # First stop: a crash while training round 2's model, after round 1 is recorded.
    train = experiment_module.train_round

    def crash_in_round_two(config, directory, store, round_index, **kwargs):
        if round_index == 2:
            raise KeyboardInterrupt
        train(config, directory, store, round_index, **kwargs)

    monkeypatch.setattr(experiment_module, "train_round", crash_in_round_two)
    with pytest.raises(KeyboardInterrupt):
        RetrainExperiment.start(config, directory, progress=False).run()
    monkeypatch.setattr(experiment_module, "train_round", train)
    assert len(_rows_in_store(directory)) == 2

    # Second stop: SIGINT in the middle of round 2's evolution (the job checkpoints).
    record = RunRecorder.record_generation

    def signal_at_generation_six(self, search, **kwargs):
        row = record(self, search, **kwargs)
        if self.run_dir.name == "round-02" and search.generation == 6:
            # SIGINT's Python handler (the job's), run as CPython runs it on delivery. Not
            # a real signal: earlier tests' libraries (Ray, OpenVINO) leave this thread's
            # alternate signal stack freed, and delivery onto it kills the test process.
            signal.getsignal(signal.SIGINT)(signal.SIGINT, None)
        return row

    monkeypatch.setattr(RunRecorder, "record_generation", signal_at_generation_six)
    table = RetrainExperiment.resume(directory, progress=False).run()
    assert len(table) == 2  # stopped inside round 2
    monkeypatch.setattr(RunRecorder, "record_generation", record)

    # Resumed as a copy, the original moved away: the copy uses its own round models.
    copy = shutil.copytree(directory, tmp_path / "copy")
    directory.rename(tmp_path / "moved-away")
    RetrainExperiment.resume(copy, progress=False).run()
    strip = [{k: v for k, v in row.items() if k not in TIMING} for row in _rows(copy)]
    expected = [{k: v for k, v in row.items() if k not in TIMING} for row in _rows(reference)]
    assert strip == expected
    assert _garbage(copy) == _garbage(reference)


def _rows_in_store(directory):
    connection = sqlite3.connect(directory / "retrain.sqlite")
    try:
        return connection.execute("SELECT round FROM rounds").fetchall()
    finally:
        connection.close()


def test_start_refuses_an_occupied_directory_and_a_non_mnist_model(tmp_path, small_lenets):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("")
    config = load_retrain_config(CONFIG, tiny(small_lenets[0]))
    with pytest.raises(EvofoolError, match="not empty"):
        RetrainExperiment.start(config, tmp_path / "busy")
    with pytest.raises(EvofoolError, match="model not found"):
        RetrainExperiment.start(load_retrain_config(CONFIG, ["model=/no/such.pt"]),
                                tmp_path / "new")
    assert not (tmp_path / "new").exists()


def test_finetune_mode_widens_the_previous_model(small_lenets, tmp_path):
    overrides = [*tiny(small_lenets[0]), "rounds=1", "training.mode=finetune"]
    table = RetrainExperiment.start(load_retrain_config(CONFIG, overrides), tmp_path / "ft",
                                    progress=False).run()
    assert [row["round"] for row in table] == [0, 1]
    model = load_classifier(str(round_model_path(tmp_path / "ft", 1)))
    original = load_classifier(str(small_lenets[0]))
    assert model.num_classes == 11
    # Fine-tuning starts from round 0's weights: the first layer is still close to them.
    first, start = model.network.features[0].weight, original.network.features[0].weight
    assert (first - start).abs().mean() < 0.5 * start.abs().mean()


@pytest.mark.parametrize("edit", [lambda text: text.replace("rounds: 2", "rounds: 3"),
                                  lambda text: text + "\njunk: [\n"])
def test_resume_refuses_an_edited_config_yaml_and_keeps_the_edit(tiny_retrain, tmp_path, cli,
                                                                  edit):
    """An experiment once ignored the edit and wrote the recorded config over it."""
    experiment = shutil.copytree(tiny_retrain[0], tmp_path / "exp")
    config = experiment / "config.yaml"
    config.write_text(edit(config.read_text()))
    edited = config.read_text()
    result = cli("resume", str(experiment), "--quiet")
    assert result.returncode == 2 and "was edited" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert config.read_text() == edited
