"""Long runs: exact resume after SIGKILL, signals, and bad input that must not harm a run."""

import errno
import json
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml
from conftest import run_in_process

from evofool.cli.main import main
from evofool.run import checkpoints
from evofool.run.config import load_config
from evofool.run.job import EvolutionJob
from evofool.run.stop_rules import STOP_CONDITIONS
from evofool.store import RunStore

CONFIGS = Path(__file__).parents[1] / "configs"


def evofool(*args):
    return subprocess.Popen([sys.executable, "-m", "evofool", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finished_here(*args):
    """``evofool ARGS`` run in this process (conftest.run_in_process): for what needs no
    process of its own, a refusal or a short resume."""
    result = run_in_process(*args)
    return result.returncode, result.stdout, result.stderr


def finished(process, timeout=300):
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def latest_generation(run_dir):
    try:
        connection = sqlite3.connect(f"file:{run_dir / 'run.sqlite'}?mode=ro", uri=True)
        return connection.execute("SELECT max(generation) FROM history").fetchone()[0] or 0
    except sqlite3.Error:
        return 0


def run_args(encoding, model, out, generations=45, engine="auto", history="auto",
             screen=False):
    return ["run", str(CONFIGS / f"mnist_{encoding}.yaml"), "--out", str(out), "--quiet",
            "--set", f"model={model}", "--set", f"generations={generations}",
            "--set", "algorithm.batch_size=60",  # a generation in a few milliseconds
            "--set", "checkpoint.every_generations=7", "--set", f"evaluator.engine={engine}",
            "--set", f"store.history={history}",
            *(["--set", "evaluator.screen={engine: torch-bf16, audit_every: 10, when: always}"]
              if screen else [])]


def champions_of(run_dir, encoding):
    genomes = run_dir / ("genomes.json" if encoding == "cppn" else "genomes.npz")
    summary = json.loads((run_dir / "summary.json").read_text())
    return summary["classes"], genomes.read_bytes()


@pytest.mark.numerics
@pytest.mark.processes
@pytest.mark.slow("five processes: a whole run beside a run killed three times and resumed")
@pytest.mark.parametrize("encoding, engine, history, screen", [
    ("cppn", "onnxruntime", "all", False), ("direct", "torch", "milestones", False),
    ("cppn", "onnxruntime", "all", True)])
def test_killed_and_resumed_run_ends_bitwise_equal(tmp_path, trained_lenet, encoding, engine,
                                                   history, screen):
    """Also the store: history, and every genome payload, thinned ones included (a
    resume must restore the checkpoint's champions that later replacements thinned);
    with a screen, also which children it confirmed."""
    if engine == "onnxruntime":
        pytest.importorskip("onnxruntime")
    model = trained_lenet["path"]
    options = {"engine": engine, "history": history, "screen": screen}
    whole = evofool(*run_args(encoding, model, tmp_path / "whole", **options))  # alongside,
    while whole.poll() is None and latest_generation(tmp_path / "whole") < 1:  # once the
        time.sleep(0.01)  # engines' timing it measured (screen.csv's cost_ratio) is cached
    killed = tmp_path / "killed"
    process = evofool(*run_args(encoding, model, killed, **options))
    kills = 0
    for target in (10, 25, 38):
        while process.poll() is None and latest_generation(killed) < target:
            time.sleep(0.002)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
        process = evofool("resume", str(killed), "--quiet")
    for each in (process, whole):
        code, _, err = finished(each)
        assert code == 0, err
    assert kills >= 2
    assert champions_of(killed, encoding) == champions_of(tmp_path / "whole", encoding)
    if screen:
        assert (killed / "screen.csv").read_text() == (tmp_path / "whole" / "screen.csv"
                                                       ).read_text()
    connection = sqlite3.connect(killed / "run.sqlite")
    assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    whole = sqlite3.connect(tmp_path / "whole" / "run.sqlite")
    for query in ("SELECT class, genome_id, generation, confidence FROM history ORDER BY id",
                  "SELECT genome_id, parent_id, generation, payload FROM genomes"
                  " ORDER BY genome_id"):
        assert connection.execute(query).fetchall() == whole.execute(query).fetchall()
    if history == "milestones":  # the thinning really happened
        kinds = [payload[:1] for (payload,) in connection.execute("SELECT payload FROM genomes")]
        assert kinds.count(b"") > 0 and kinds.count(b"U") > 0


def test_sigterm_checkpoints_and_says_how_to_resume(tmp_path, trained_lenet):
    out = tmp_path / "run"
    process = evofool(*run_args("cppn", trained_lenet["path"], out, generations=100000))
    while latest_generation(out) < 5:
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    code, _, err = finished(process)
    assert code == 0 and f"evofool resume {out}" in err
    store = sqlite3.connect(out / "run.sqlite")
    status = json.loads(store.execute("SELECT value FROM meta WHERE key='status'").fetchone()[0])
    assert status == "interrupted"
    stopped_at = json.loads((out / "summary.json").read_text())["generations"]
    code, _, err = finished_here("resume", str(out), "--quiet",
                                    "--set", f"generations={stopped_at + 3}")
    assert code == 0, err
    assert json.loads((out / "summary.json").read_text())["generations"] == stopped_at + 3
    rows = (out / "metrics.csv").read_text().strip().splitlines()
    assert rows[0].startswith("generation,evaluations,best,median,min,classes_at_0.99")
    assert [int(r.split(",")[0]) for r in rows[1:]] == list(range(1, stopped_at + 4))


@pytest.fixture(scope="session")
def finished_small_run(tmp_path_factory, trained_lenet):
    """A finished 20-generation run, made once through the real CLI."""
    out = tmp_path_factory.mktemp("small-run") / "run"
    code, _, err = finished_here(*run_args("cppn", trained_lenet["path"], out,
                                              generations=20))
    assert code == 0, err
    return out


@pytest.fixture
def small_run(finished_small_run, tmp_path):
    """A copy of that run of this test's own, to resume, damage or refuse."""
    return Path(shutil.copytree(finished_small_run, tmp_path / "run"))


def snapshot(run_dir):
    return {path: path.read_bytes() for path in sorted(run_dir.rglob("*")) if path.is_file()}


def test_run_into_an_existing_run_says_resume(small_run, trained_lenet):
    before = snapshot(small_run)
    code, _, err = finished_here(*run_args("cppn", trained_lenet["path"], small_run))
    assert code == 2 and f"evofool resume {small_run}" in err and "Traceback" not in err
    assert snapshot(small_run) == before


def test_resume_with_a_changed_config_needs_force(small_run):
    before = snapshot(small_run)
    code, _, err = finished_here("resume", str(small_run), "--set", "seed=5")
    assert code == 2 and "changed config (seed)" in err and "--force" in err
    assert snapshot(small_run) == before


def test_resume_of_a_finished_run_says_so_and_changes_no_byte(small_run):
    before = snapshot(small_run)
    code, out, err = finished_here("resume", str(small_run), "--quiet")
    assert code == 0 and out == ""
    assert "already finished (generation 20" in err and "--set generations=120" in err
    assert "resuming" not in err
    assert snapshot(small_run) == before


def test_extending_a_stop_condition_needs_no_force(small_run):
    code, _, err = finished_here("resume", str(small_run), "--quiet",
                                    "--set", "generations=25", "--set", "wall_seconds=600")
    assert code == 0, err
    assert json.loads((small_run / "summary.json").read_text())["generations"] == 25


@pytest.mark.parametrize("edit, named", [
    ({"model": "other.pt"}, "(model)"), ({"encoding": {"type": "direct"}}, "encoding."),
    ({"algorithm": {"batch_size": 7}}, "(algorithm.batch_size)"), ("not: [valid", "no longer")])
def test_resume_after_config_yaml_was_edited_is_refused_and_keeps_the_edit(small_run, edit,
                                                                         named, capsys):
    """Resume runs the recorded config; an edited config.yaml would be run as something
    else than it says, then overwritten."""
    config = small_run / "config.yaml"
    if isinstance(edit, str):
        config.write_text(config.read_text() + edit)
    else:
        recorded = yaml.safe_load(config.read_text())
        for key, value in edit.items():
            recorded[key] = {**recorded[key], **value} if isinstance(value, dict) else value
        config.write_text(yaml.safe_dump(recorded))
    before = snapshot(small_run)
    code = main(["resume", str(small_run), "--quiet", "--set", "generations=25"])
    err = capsys.readouterr().err
    assert code == 2 and "config.yaml was edited" in err and named in err, err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(small_run) == before


def test_resume_of_a_directory_that_is_not_a_run(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    code, _, err = finished_here("resume", str(tmp_path))
    assert code == 2 and "is not an evofool run" in err
    assert (tmp_path / "notes.txt").read_text() == "hello"


def test_corrupt_latest_checkpoint_falls_back_and_says_so(small_run):
    newest = checkpoints.checkpoint_paths(small_run)[-1]
    newest.write_bytes(newest.read_bytes()[:100])
    code, _, err = finished_here("resume", str(small_run), "--quiet")
    assert code == 0, err
    assert f"{newest.name} is unreadable" in err and "falling back to" in err
    assert json.loads((small_run / "summary.json").read_text())["generations"] == 20


def test_unwritable_run_directory_is_one_line(tmp_path, trained_lenet):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = finished_here(*run_args("cppn", trained_lenet["path"],
                                              blocker / "run"))
    assert code == 2 and "is not writable" in err and "Traceback" not in err


def test_disk_full_while_checkpointing_is_one_line_and_keeps_the_run(
        small_run, monkeypatch, capsys):
    before = checkpoints.checkpoint_paths(small_run)

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoints.torch, "save", disk_full)
    code = main(["resume", str(small_run), "--quiet", "--force", "--set", "generations=40"])
    err = capsys.readouterr().err
    assert code == 2 and "No space left on device" in err
    assert checkpoints.checkpoint_paths(small_run) == before
    assert not list((small_run / "checkpoints").glob("*.partial"))


HOLD_LOCK = ("import sys, time; from pathlib import Path; "
             "from evofool.store.writer_lock import WriterLock; "
             "lock = WriterLock.acquire(Path(sys.argv[1])); print('held', flush=True); "
             "time.sleep(600)")


@pytest.fixture
def lock_holder():
    """Starts a process that holds a directory's writer lock, as a live run does."""
    processes = []

    def hold(directory):
        process = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(directory)],
                                   stdout=subprocess.PIPE, text=True)
        assert process.stdout.readline().strip() == "held"
        processes.append(process)
        return process

    yield hold
    for process in processes:
        process.kill()
        process.wait()


def test_a_second_writer_is_refused_naming_the_holder_and_changes_nothing(
        small_run, trained_lenet, lock_holder, tmp_path):
    holder = lock_holder(small_run)
    before = snapshot(small_run)
    code, _, err = finished_here("resume", str(small_run), "--quiet", "--set",
                                    "generations=30")
    assert code == 2 and f"is being written by pid {holder.pid}" in err, err
    assert len(err.strip().splitlines()) == 1
    assert snapshot(small_run) == before
    empty = tmp_path / "empty"
    empty.mkdir()
    lock_holder(empty)
    code, _, err = finished_here(*run_args("cppn", trained_lenet["path"], empty))
    assert code == 2 and "is being written by pid" in err
    assert [path.name for path in empty.iterdir()] == ["writer.lock"]
    # readers keep working while the run is held
    code, out, err = finished_here("export", str(small_run), "--format", "npz", "--out",
                                      str(tmp_path / "export"))
    assert code == 0, err


def test_a_killed_writer_leaves_no_stale_lock(small_run, lock_holder):
    holder = lock_holder(small_run)
    holder.kill()
    holder.wait()
    code, _, err = finished_here("resume", str(small_run), "--quiet", "--set",
                                    "generations=22")
    assert code == 0, err
    assert json.loads((small_run / "summary.json").read_text())["generations"] == 22


def test_two_concurrent_resumes_write_one_history(small_run):
    first = evofool("resume", str(small_run), "--quiet", "--set", "generations=150")
    second = evofool("resume", str(small_run), "--quiet", "--set", "generations=150")
    results = sorted([finished(first)[0], finished(second)[0]])
    assert results in ([0, 2], [0, 0])  # [0, 0]: the second started after the first ended
    connection = sqlite3.connect(f"file:{small_run / 'run.sqlite'}?mode=ro", uri=True)
    generations = [row[0] for row in connection.execute(
        "SELECT generation FROM history ORDER BY id")]
    assert generations == sorted(generations)
    rows = (small_run / "metrics.csv").read_text().splitlines()
    assert [int(row.split(",")[0]) for row in rows[1:]] == list(range(1, 151))


def test_a_checkpoint_from_another_run_is_refused_before_anything_changes(
        small_run, trained_lenet, tmp_path):
    other = tmp_path / "other"
    code, _, err = finished_here(*run_args("cppn", trained_lenet["path"], other,
                                              generations=30), "--set", "seed=1")
    assert code == 0, err
    foreign = checkpoints.checkpoint_paths(other)[-1]
    (small_run / "checkpoints" / foreign.name).write_bytes(foreign.read_bytes())
    before = snapshot(small_run)
    code, _, err = finished_here("resume", str(small_run), "--quiet", "--set",
                                    "generations=40")
    assert code == 2 and "belongs to another run (run id" in err, err
    assert snapshot(small_run) == before
    direct = tmp_path / "direct"
    code, _, err = finished_here(*run_args("direct", trained_lenet["path"], direct,
                                              generations=2))
    assert code == 0, err
    (small_run / "checkpoints" / foreign.name).write_bytes(
        checkpoints.checkpoint_paths(direct)[-1].read_bytes())
    before = snapshot(small_run)
    code, _, err = finished_here("resume", str(small_run), "--quiet", "--set",
                                    "generations=40")
    assert code == 2 and "encoding direct (this run: cppn)" in err, err
    assert "Traceback" not in err and snapshot(small_run) == before


def test_a_disk_that_fills_mid_run_leaves_it_interrupted_and_resumable(
        small_run, monkeypatch, capsys):
    from evofool.store import RunStore

    real = RunStore.record_generation
    calls = []

    def fills_up(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RunStore, "record_generation", fills_up)
    code = main(["resume", str(small_run), "--quiet", "--set", "generations=30"])
    err = capsys.readouterr().err
    assert code == 2 and "database or disk is full" in err and "evofool resume" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 2  # resuming + error
    connection = sqlite3.connect(f"file:{small_run / 'run.sqlite'}?mode=ro", uri=True)
    status = connection.execute("SELECT value FROM meta WHERE key = 'status'").fetchone()[0]
    connection.close()
    assert json.loads(status) == "interrupted"
    monkeypatch.setattr(RunStore, "record_generation", real)
    assert main(["resume", str(small_run), "--quiet"]) == 0
    assert json.loads((small_run / "summary.json").read_text())["generations"] == 30


def test_a_run_from_before_a_config_key_existed_resumes_exactly(tmp_path, small_lenets):
    """A run made before ``evaluator.defenses`` existed recorded a config without it, and its
    checkpoints carry that dict's fingerprint: today's evofool reads the same config with
    the key added at its default, and must still know the checkpoints as the run's own."""
    overrides = [f"model={small_lenets[0]}", "checkpoint.every_generations=2"]
    for name, generations in (("whole", 6), ("old", 3)):
        config = load_config(CONFIGS / "mnist_cppn.yaml",
                             [*overrides, f"generations={generations}"])
        EvolutionJob.start(config, tmp_path / name, progress=False).run()
    old = tmp_path / "old"
    store = RunStore(old)
    written = store.get_meta("config")
    del written["evaluator"]["defenses"]
    store.set_meta(config=written)
    store.close()
    for path in checkpoints.checkpoint_paths(old):
        state = torch.load(path, weights_only=True)
        state["identity"]["config_fingerprint"] = checkpoints.config_fingerprint(
            written, STOP_CONDITIONS)
        torch.save(state, path)
        path.with_name(path.name + checkpoints.DIGEST_SUFFIX).unlink()  # none were written
    EvolutionJob.resume(old, ["generations=6"], progress=False).run()
    assert json.loads((old / "summary.json").read_text())["classes"] == json.loads(
        (tmp_path / "whole" / "summary.json").read_text())["classes"]
