"""Every file the browser reads is untrusted: one crafted run is unreadable (422) and the
rest are listed; nothing a run directory holds, or a URL names, is a 500 (each case below
once was)."""

import json
import shutil
import sqlite3

import pytest
from conftest import browser_client

BIG = "9" * 5000
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.fixture
def runs(tiny_cppn_run, tiny_retrain, tmp_path):
    """A directory of a good run, a run to damage and an experiment to damage."""
    root = tmp_path / "runs"
    shutil.copytree(tiny_cppn_run, root / "good")
    shutil.copytree(tiny_cppn_run, root / "bad")
    shutil.copytree(tiny_retrain[0], root / "exp")
    return root


def _listed(client):
    response = client.get("/api/runs")
    assert response.status_code == 200, response.text
    return {row["slug"]: row for row in response.json()}


def _damage_metrics(run, column, value):
    lines = (run / "metrics.csv").read_text().splitlines()
    header = lines[0].split(",")
    last = lines[-1].split(",")
    last[header.index(column)] = value
    (run / "metrics.csv").write_text("\n".join([*lines[:-1], ",".join(last)]) + "\n")


def test_a_non_integer_in_metrics_makes_that_run_unreadable_not_the_index(runs):
    _damage_metrics(runs / "bad", "evaluations", "12.5e")
    client = browser_client([runs])
    listed = _listed(client)
    assert "error" in listed["bad"] and "error" not in listed["good"]
    assert client.get("/api/runs/bad").status_code == 422
    assert client.get("/api/runs/good").status_code == 200


def test_nan_in_metrics_is_shown_as_nothing(runs):
    _damage_metrics(runs / "bad", "median", "nan")
    client = browser_client([runs])
    assert _listed(client)["bad"]["median_confidence"] is None
    assert client.get("/api/runs/bad").status_code == 200


@pytest.mark.parametrize("text", ["NaN", "1e999", "-1e999", BIG, DEEP,
                                  '{"detector": {"type": NaN}, "classes": [[1]]}'])
@pytest.mark.parametrize("name", ["summary.json", "transfer/transfer.json"])
def test_crafted_json_files_are_no_500(runs, name, text):
    target = runs / "bad" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    client = browser_client([runs])
    assert "bad" in _listed(client)
    response = client.get("/api/runs/bad")
    assert response.status_code in (200, 422), response.text
    json.loads(response.text)  # strict JSON: no NaN


@pytest.mark.parametrize("column, value", [
    ("held_out_auroc", "NaN"), ("held_out_auroc", "not json"), ("held_out_auroc", DEEP),
    ("classes_at_099", "text"), ("median_confidence", 1e308),
    ("median_confidence", float("nan"))])
def test_crafted_experiment_values_are_no_500(runs, column, value):
    with sqlite3.connect(runs / "exp" / "retrain.sqlite") as store:
        store.execute(f"UPDATE rounds SET {column} = ?", (value,))
    client = browser_client([runs])
    listed = _listed(client)
    assert "error" not in listed["good"]
    for url in ("/api/runs/exp", "/runs/exp/plots/rounds.png", "/runs/exp"):
        response = client.get(url)
        assert response.status_code in (200, 422), (url, response.text)


def test_class_names_that_are_no_list_make_the_experiment_unreadable(runs):
    with sqlite3.connect(runs / "exp" / "retrain.sqlite") as store:
        store.execute("UPDATE meta SET value = '5' WHERE key = 'class_names'")
    client = browser_client([runs])
    assert "error" in _listed(client)["exp"]
    assert client.get("/api/runs/exp").status_code == 422


@pytest.mark.parametrize("path", [
    f"/api/runs/good/classes/{'9' * 4301}", f"/runs/good/genomes/{'9' * 4301}.png",
    f"/runs/good/genomes/{'9' * 4301}/genome", f"/runs/good/plots/class-{'9' * 4301}.png",
    f"/runs/good/classes/{'9' * 4301}"])
def test_huge_numbers_in_paths_are_404(runs, path):
    assert browser_client([runs]).get(path).status_code == 404
