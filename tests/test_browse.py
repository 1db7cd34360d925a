"""The archive browser's HTTP API and pages, through Starlette's test client."""

import hashlib
import io
import os
import shutil
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from conftest import CONFIGS, browser_client
from PIL import Image

from evofool.analysis.transfer import transfer_matrix, write_transfer
from evofool.run.config import load_config
from evofool.run.job import EvolutionJob


@pytest.fixture
def client(tiny_cppn_run, tiny_retrain, tmp_path):
    broken = tmp_path / "runs" / "broken"
    broken.mkdir(parents=True)
    (broken / "run.sqlite").write_bytes(b"this is not a database" * 100)
    roots = [tiny_cppn_run, tiny_retrain[0], tmp_path / "runs", tmp_path / "missing"]
    return browser_client(roots)


def _digest(directory):
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(directory.rglob("*")) if path.is_file()}


def test_runs_list_shows_runs_experiments_and_broken_directories(client):
    runs = {row["slug"]: row for row in client.get("/api/runs").json()}
    tiny = runs["tiny-cppn"]
    assert tiny["status"] == "finished" and tiny["generations"] == 30
    assert tiny["model"].endswith("lenet.pt") and tiny["encoding"] == "cppn"
    assert tiny["classes"] == 10 and 0 <= tiny["classes_at_0.99"] <= 10
    assert 0 < tiny["median_confidence"] <= 1
    assert runs["exp"]["kind"] == "retrain" and runs["exp"]["rounds_done"] == 3
    assert {"exp.round-00", "exp.round-01", "exp.round-02"} <= set(runs)
    assert "is damaged (file is not a database" in runs["broken"]["error"]
    assert "does not exist" in runs["missing"]["error"]
    index = client.get("/")
    assert index.status_code == 200 and 'data-page="runs"' in index.text


def test_gallery_data_and_images_match_the_store(client, tiny_cppn_run):
    run = client.get("/api/runs/tiny-cppn").json()
    assert [c["class"] for c in run["champions"]] == list(range(10))
    first = run["champions"][0]
    response = client.get(first["image"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert "immutable" in response.headers["cache-control"]
    served = np.asarray(Image.open(io.BytesIO(response.content)))
    (png,) = (tiny_cppn_run / "champions").glob("class-0000-*.png")
    assert served.shape == (28, 28) and np.array_equal(served, np.asarray(Image.open(png)))
    page = client.get("/runs/tiny-cppn")
    assert page.status_code == 200 and 'id="gallery"' in page.text
    plot = client.get("/runs/tiny-cppn/plots/confidence.png")
    assert plot.status_code == 200 and plot.content[:4] == b"\x89PNG"


def test_champion_page_data_history_lineage_top5_downloads(client):
    champion = client.get("/api/runs/tiny-cppn/classes/3").json()
    assert champion["name"] == "3" and len(champion["top_k"]) == 5
    assert champion["top_k"][0]["probability"] >= champion["top_k"][1]["probability"]
    history = [h["confidence"] for h in champion["history"]]
    assert history == sorted(history) and history[-1] == champion["confidence"]
    lineage = champion["lineage"]
    assert lineage[0]["genome_id"] == champion["genome_id"]
    assert lineage[-1]["parent_id"] == -1 and lineage[-1]["generation"] == 0
    links = zip(lineage[:-1], lineage[1:], strict=True)
    assert all(child["parent_id"] == parent["genome_id"] for child, parent in links)
    genome = client.get(champion["genome_download"])
    assert genome.status_code == 200 and "attachment" in genome.headers["content-disposition"]
    assert set(genome.json()) == {"outputs", "nodes", "connections"}
    assert client.get(champion["history_plot"]).content[:4] == b"\x89PNG"
    assert client.get("/runs/tiny-cppn/classes/3").status_code == 200


def test_retrain_experiment_table_and_plot(client):
    data = client.get("/api/runs/exp").json()
    assert [row["round"] for row in data["rounds"]] == [0, 1, 2]
    assert data["rounds"][1]["run"] == "exp.round-01"
    assert client.get("/runs/exp").status_code == 200
    assert client.get("/runs/exp/plots/rounds.png").content[:4] == b"\x89PNG"


def test_transfer_matrix_is_shown_with_the_run(small_lenets, tmp_path):
    config = load_config(CONFIGS / "mnist_cppn.yaml",
                         ["generations=3", f"model={small_lenets[0]}"])
    EvolutionJob.start(config, tmp_path / "run", progress=False).run()
    write_transfer(transfer_matrix(tmp_path / "run", [str(small_lenets[1])]),
                   tmp_path / "run" / "transfer")
    client = browser_client([tmp_path / "run"])
    transfer = client.get("/api/runs/run").json()["transfer"]
    assert transfer["models"] == [str(path) for path in small_lenets]
    assert client.get(transfer["heatmap"]).content[:4] == b"\x89PNG"


def test_a_thousand_classes(thousand_class_run):
    client = browser_client([thousand_class_run])
    champions = client.get("/api/runs/wide-run").json()["champions"]
    assert len(champions) == 1000 and champions[999]["name"] == "class 999"
    assert client.get(champions[999]["image"]).status_code == 200


@pytest.mark.parametrize("path", [
    "/runs/tiny-cppn/files/../../etc/passwd",
    "/runs/tiny-cppn/files/%2e%2e/%2e%2e/etc/passwd",
    "/runs/tiny-cppn/files/..%2f..%2fetc%2fpasswd",
    "/runs/tiny-cppn/files//etc/passwd",
    "/runs/tiny-cppn/files/champions/../../tiny-cppn-sibling",
    "/runs/nope",
    "/runs/tiny-cppn/classes/99",
    "/api/runs/tiny-cppn/classes/99",
    "/runs/tiny-cppn/genomes/99999999.png",
])
def test_outside_files_and_unknown_things_are_404(client, path):
    assert client.get(path).status_code == 404


def test_files_inside_a_run_are_served(client):
    response = client.get("/runs/tiny-cppn/files/summary.json")
    assert response.status_code == 200 and response.json()["generations"] == 30
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith("attachment")


def test_a_hostile_file_in_a_run_is_never_served(tiny_cppn_run, tmp_path):
    """Only the files the pages link are served, as their fixed types: a run directory
    someone sent may hold pages that would run script on the browser's origin."""
    run_dir = tmp_path / "runs" / "sent"
    shutil.copytree(tiny_cppn_run, run_dir)
    script = "<script>fetch('/api/runs').then(r => r.text()).then(alert)</script>"
    (run_dir / "evil.html").write_text(script)
    (run_dir / "evil.svg").write_text(f"<svg xmlns='http://www.w3.org/2000/svg'>{script}</svg>")
    (run_dir / "transfer").mkdir()
    (run_dir / "transfer" / "transfer.png").write_text(script)  # HTML under a linked name
    (run_dir / "champions" / "page.html").write_text(script)
    client = browser_client([tmp_path / "runs"])
    for name in ("evil.html", "evil.svg", "champions/page.html", "run.sqlite",
                 "checkpoints/" + sorted((run_dir / "checkpoints").iterdir())[0].name):
        assert client.get(f"/runs/sent/files/{name}").status_code == 404, name
    disguised = client.get("/runs/sent/files/transfer/transfer.png")
    assert disguised.headers["content-type"] == "image/png"  # never text/html
    assert disguised.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/api/runs", "/runs/tiny-cppn", "/static/browse.js",
                                  "/runs/tiny-cppn/genomes/1.png", "/runs/nope",
                                  "/runs/tiny-cppn/files/summary.json"])
def test_every_response_carries_the_security_headers(client, path):
    headers = client.get(path).headers
    assert headers["x-content-type-options"] == "nosniff"
    policy = headers["content-security-policy"]
    assert "script-src 'self'" in policy and "default-src 'none'" in policy
    assert "unsafe-inline" not in policy and headers["x-frame-options"] == "DENY"


def test_pages_hold_no_inline_script(client):
    """The CSP runs only /static/browse.js: a page that needed an inline script would break."""
    for path in ("/", "/runs/tiny-cppn", "/runs/tiny-cppn/classes/0", "/runs/exp"):
        page = client.get(path).text
        assert page.count("<script") == 1 and '<script src="/static/browse.js">' in page
        assert "data-page=" in page


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example",
                                  "localhost.evil.example", ""])
def test_a_request_for_another_host_is_refused(tiny_cppn_run, host):
    """DNS rebinding: a hostile page's requests carry its own host name."""
    from starlette.testclient import TestClient

    from evofool.browse import create_app

    app = create_app([tiny_cppn_run])
    response = TestClient(app).get("/api/runs", headers={"host": host})
    assert response.status_code == 400 and "tiny-cppn" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    for allowed in ("localhost", "127.0.0.1:8000", "[::1]:8000"):
        assert TestClient(app).get("/api/runs", headers={"host": allowed}).status_code == 200
    bound = TestClient(create_app([tiny_cppn_run], hosts=("gallery.lan",)))
    assert bound.get("/api/runs", headers={"host": "gallery.lan:8000"}).status_code == 200


def test_a_directory_name_that_is_not_utf8_breaks_nothing(tiny_cppn_run, tmp_path):
    runs = tmp_path / "runs"
    runs.mkdir()
    shutil.copytree(tiny_cppn_run, runs / "good")
    odd = Path(os.fsdecode(bytes(runs) + b"/caf\xe9-\xff"))
    shutil.copytree(tiny_cppn_run, odd)
    client = browser_client([runs])
    listing = client.get("/api/runs")
    assert listing.status_code == 200
    rows = {row["name"]: row for row in listing.json()}
    assert set(rows) == {"good", "caf\\xe9-\\xff"} and "error" not in rows["good"]
    slug = rows["caf\\xe9-\\xff"]["slug"]
    assert client.get(f"/api/runs/{quote(slug)}").status_code == 200
    assert client.get(f"/runs/{quote(slug)}").status_code == 200
    assert client.get("/").status_code == 200


def test_broken_and_missing_runs_get_a_clear_page(client):
    broken = client.get("/runs/broken")
    assert broken.status_code == 422 and "cannot be shown" in broken.text
    missing = client.get("/runs/missing")
    assert missing.status_code == 404 and "does not exist" in missing.text


def test_read_only_and_live(small_lenets, tmp_path):
    """Pages follow a run as it writes; serving them changes no byte of it."""
    runs = tmp_path / "runs"
    runs.mkdir()
    client = browser_client([runs])
    assert client.get("/api/runs").json() == []
    config = load_config(CONFIGS / "mnist_cppn.yaml",
                         ["generations=3", f"model={small_lenets[0]}"])
    EvolutionJob.start(config, runs / "live", progress=False).run()
    assert client.get("/api/runs/live").json()["generations"] == 3  # appeared after start
    before = _digest(runs / "live")
    for path in ("/api/runs/live", "/runs/live", "/api/runs/live/classes/0",
                 "/runs/live/plots/confidence.png", "/runs/live/files/config.yaml"):
        assert client.get(path).status_code == 200
    assert client.post("/api/runs/live").status_code == 405
    assert _digest(runs / "live") == before
    EvolutionJob.resume(runs / "live", ["generations=6"], force=True, progress=False).run()
    assert client.get("/api/runs/live").json()["generations"] == 6


def test_a_run_restricted_to_some_classes_is_about_those(small_lenets, tmp_path):
    config = load_config(CONFIGS / "mnist_cppn.yaml", [
        "generations=3", f"model={small_lenets[0]}", "algorithm.classes=[3, 7]"])
    EvolutionJob.start(config, tmp_path / "two", progress=False).run()
    client = browser_client([tmp_path / "two"])
    (row,) = client.get("/api/runs").json()
    assert row["classes"] == 2 and row["classes_in_play"] == [3, 7] and row["model_classes"] == 10
    assert row["evaluations"] == 600 and row["wall_seconds"] > 0 and row["started"] > 0
    run = client.get("/api/runs/two").json()
    assert [c["class"] for c in run["champions"]] == [3, 7]
    for path in ("/runs/two/classes/5", "/api/runs/two/classes/5"):
        response = client.get(path)
        assert response.status_code == 404
        assert "not one of the 2 classes this run evolves for" in response.text
    assert client.get("/runs/two/classes/3").status_code == 200
    assert client.get("/api/runs/two/classes/12").status_code == 404


@pytest.mark.parametrize("path", [
    "/runs/tiny-cppn/genomes/99999999999999999999999.png",
    "/runs/tiny-cppn/genomes/99999999999999999999999/genome",
    "/api/runs/tiny-cppn/classes/99999999999999999999",
    "/runs/tiny-cppn/plots/class-99999999999999999999.png",
    "/runs/tiny-cppn/files/" + "a" * 5000,
    "/runs/tiny-cppn/files/a%00b",
    "/runs/%ff%fe%00",
    "/api/runs/" + "x" * 5000,
])
def test_malformed_requests_are_4xx_never_a_server_error(client, path):
    assert 400 <= client.get(path).status_code < 500


def damaged_copy(run_dir, tmp_path):
    """A copy of ``run_dir`` whose store has garbage over its middle pages."""
    copy = tmp_path / "runs" / "damaged"
    shutil.copytree(run_dir, copy)
    store = copy / "run.sqlite"
    data = bytearray(store.read_bytes())
    generator = np.random.default_rng(0)
    start, stop = len(data) // 4, 3 * len(data) // 4
    data[start:stop] = generator.integers(0, 256, stop - start, dtype=np.uint8).tobytes()
    store.write_bytes(bytes(data))
    return copy


def test_a_damaged_store_is_marked_unreadable_and_one_line_on_the_cli(
        tiny_cppn_run, tmp_path, cli):
    damaged = damaged_copy(tiny_cppn_run, tmp_path)
    client = browser_client([tmp_path / "runs"])  # raises on any unhandled error
    row = client.get("/api/runs").json()[0]
    assert "damaged" in row["error"] or "cannot open" in row["error"]
    assert row.get("status") != "finished"
    api = client.get("/api/runs/damaged")
    assert api.status_code == 422 and "cannot read" in api.json()["error"]
    for path in ("/runs/damaged", "/api/runs/damaged/classes/0", "/runs/damaged/classes/0"):
        response = client.get(path)
        assert response.status_code == 422, path
        assert "cannot read this run" in response.text or "cannot be shown" in response.text
        assert "not a class of this model" not in response.text
    result = cli("export", str(damaged), "--format", "npz", "--out", str(tmp_path / "out"))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and str(damaged) in result.stderr


def test_reading_a_run_leaves_no_sqlite_side_files(tiny_cppn_run, tmp_path, cli):
    run_dir = tmp_path / "copy"
    shutil.copytree(tiny_cppn_run, run_dir)
    before = sorted(path.name for path in run_dir.iterdir())
    client = browser_client([run_dir])
    for path in ("/api/runs", "/api/runs/copy", "/api/runs/copy/classes/0"):
        assert client.get(path).status_code == 200
    result = cli("export", str(run_dir), "--format", "npz", "--out", str(tmp_path / "out"),
                 "--min-confidence", "0")
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in run_dir.iterdir()) == before


@pytest.mark.parametrize("name, content", [
    ("summary.json", '"detector"'), ("summary.json", '{"detector": {"type": 1}, "classes": [1]}'),
    ("summary.json", b"\xff\xfe"), ("transfer/transfer.json", "[1, 2]"),
    ("ood/ood.json", '"text"'), ("defend/defend.json", b"\x00\xff")])
def test_a_crafted_result_file_in_a_run_is_not_a_server_error(tiny_cppn_run, tmp_path, name,
                                                               content):
    run_dir = tmp_path / "runs" / "sent"
    shutil.copytree(tiny_cppn_run, run_dir)
    (run_dir / name).parent.mkdir(exist_ok=True)
    if isinstance(content, bytes):
        (run_dir / name).write_bytes(content)
    else:
        (run_dir / name).write_text(content)
    response = browser_client([tmp_path / "runs"]).get("/api/runs/sent")
    assert response.status_code == 200 and len(response.json()["champions"]) == 10
