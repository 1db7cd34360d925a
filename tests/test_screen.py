"""Screen and confirm (evaluator.screen): a cheap engine decides which children the exact
one scores again; only exact scores reach the archive, and runs still resume exactly."""

import json

import pytest
import torch
from conftest import CONFIGS

from evofool.errors import ConfigError
from evofool.evaluation.scorer import ImageScorer
from evofool.evaluation.screen import Screen, could_improve
from evofool.models import load_classifier
from evofool.run.builder import build_screen
from evofool.run.config import load_config, screen_blocker
from evofool.run.job import EvolutionJob
from evofool.run.stored import StoredRun

SCREEN = "evaluator.screen={engine: torch-bf16, audit_every: 5, when: always}"


def test_a_child_is_confirmed_where_its_widened_score_beats_a_threshold():
    screened = torch.tensor([[0.2, 0.9], [0.5, 0.5], [0.999, 0.0]])
    thresholds = torch.tensor([[0.99, 0.99], [-1.0, 1.0], [1.0, 1.0]])
    # 0.9 is 2.2 below 0.99 in log-odds; an empty cell (-1) takes anything; 1.0 takes nothing
    assert could_improve(screened, thresholds, margin=2.5).tolist() == [True, True, False]
    assert could_improve(screened, thresholds, margin=2.0).tolist() == [False, True, False]


def screened_config(model, generations, *extra):
    return load_config(CONFIGS / "mnist_cppn.yaml", [
        f"model={model}", f"generations={generations}", SCREEN, "algorithm.batch_size=100",
        "checkpoint.every_generations=4", "checkpoint.every_seconds=null", *extra])


def results(run_dir):
    summary = json.loads((run_dir / "summary.json").read_text())
    return summary["classes"], (run_dir / "genomes.json").read_bytes(), \
        (run_dir / "screen.csv").read_text()


@pytest.mark.numerics
def test_only_exact_scores_reach_the_archive_and_resume_is_exact(small_lenets, tmp_path):
    model = small_lenets[0]
    summary = EvolutionJob.start(screened_config(model, 12), tmp_path / "whole",
                                 progress=False).run()
    EvolutionJob.start(screened_config(model, 6), tmp_path / "parted", progress=False).run()
    EvolutionJob.resume(tmp_path / "parted", ["generations=12"], progress=False).run()
    assert results(tmp_path / "whole") == results(tmp_path / "parted")
    # every stored champion, re-rendered, is what the exact engine says it is
    run = StoredRun(tmp_path / "whole")
    champions = run.champions()
    exact = ImageScorer(load_classifier(str(model)), device="cpu", engine="torch").score(
        run.render([champion.genome_id for champion in champions]))
    run.close()
    for champion, row in zip(champions, exact, strict=True):
        assert abs(champion.confidence - float(row[champion.class_index])) <= 1e-5
    rows = [line.split(",") for line in
            (tmp_path / "whole" / "screen.csv").read_text().splitlines()[1:]]
    assert [int(row[0]) for row in rows] == list(range(1, 13))
    assert all(int(row[2]) <= int(row[1]) == 100 for row in rows)
    audited = [row for row in rows if row[3]]
    assert [int(row[0]) for row in audited] == [1, 6, 11] and int(rows[1][2]) < 100
    screen = summary["screen"]
    assert screen["engine"] == "torch-bf16" and screen["audited_generations"] == 3
    assert screen["screened"] == 1200 and screen["confirmed"] == sum(int(r[2]) for r in rows)
    assert screen["missed"] == sum(int(row[4]) for row in audited)


@pytest.mark.parametrize("extra, message", [
    (["algorithm={type: ga, targets: [1]}"], "evaluator.screen works with algorithm.type "
                                             "map_elites, not ga"),
    (["evaluator.detector={type: energy}"], "evaluator.screen and evaluator.detector"),
    (["evaluator.screen={engine: onnxruntime}"], "evaluator.screen.engine must be one of auto"),
])
def test_what_needs_every_exact_score_refuses_a_screen_in_one_line(extra, message):
    with pytest.raises(ConfigError, match=message):
        load_config(CONFIGS / "mnist_cppn.yaml", ["generations=2", SCREEN, *extra])


@pytest.mark.parametrize("extra", [
    ["algorithm={type: ga, targets: [1]}"], ["evaluator.detector={type: energy}"],
    ["evaluator.defenses=[jpeg]"],
])
def test_an_auto_screen_stays_off_where_a_screen_cannot_serve_and_says_so(extra, capsys):
    """configs/imagenet_cppn.yaml screens by default: overriding it with what a screen
    cannot serve must not need a second override."""
    config = load_config(CONFIGS / "mnist_cppn.yaml", [
        "generations=2", "evaluator.screen={engine: auto}", *extra])
    assert screen_blocker(config) is not None
    assert build_screen(config, classifier=None) is None  # decided before the model is read
    assert "evaluator.screen: auto stays off: " in capsys.readouterr().err
    assert screen_blocker(load_config(CONFIGS / "mnist_cppn.yaml", ["generations=2"])) is None


def test_a_generation_is_screened_only_where_the_last_one_says_it_pays():
    """cost 0.3: screening pays where fewer than 70 % of the children go on."""
    screen = Screen(engine="fake", margin=0.0, audit_every=None, cost_ratio=0.3)

    def screened(batch):
        return torch.tensor([[0.9, 0.1]] * len(batch))

    images = torch.zeros(10, 1, 2, 2)
    exact_calls = []

    def exact(batch):
        exact_calls.append(len(batch))
        return torch.tensor([[0.9, 0.1]] * len(batch))

    empty = torch.full((10, 2), -1.0)
    _, stats = screen.probabilities(images, empty, exact=exact, screened=screened,
                                     generation=0)  # nothing known: exact
    assert stats.decision == "exact" and exact_calls == [10] and screen.share == 1.0
    assert stats.expected_cost is None
    _, stats = screen.probabilities(images, empty, exact=exact, screened=screened,
                                     generation=1)  # 1.3 > 1: still exact
    assert stats.decision == "exact" and stats.expected_cost == pytest.approx(1.3)
    beaten_by_two = torch.tensor([[0.95, 0.99]] * 8 + [[0.5, 0.99]] * 2)
    _, stats = screen.probabilities(images, beaten_by_two, exact=exact, screened=screened,
                                     generation=2)  # 2 would go on
    assert screen.share == pytest.approx(0.2) and stats.decision == "exact"
    _, stats = screen.probabilities(images, beaten_by_two, exact=exact, screened=screened,
                                     generation=3)  # 0.5 < 1
    assert stats.decision == "screen" and exact_calls[-1] == 2
    assert stats.screened == 10 and stats.confirmed == 2
    restored = Screen(engine="fake", margin=0.0, audit_every=None, cost_ratio=9.0)
    restored.load_state_dict(screen.state_dict())  # a resumed run decides as the whole run
    assert restored.expected_cost() == screen.expected_cost() == pytest.approx(0.5)


def test_a_run_that_screens_where_it_pays_resumes_exactly(small_lenets, tmp_path):
    pays = "evaluator.screen.when=pays"
    whole = screened_config(small_lenets[0], 12, pays)
    EvolutionJob.start(whole, tmp_path / "whole", progress=False).run()
    EvolutionJob.start(screened_config(small_lenets[0], 6, pays), tmp_path / "parted",
                       progress=False).run()
    EvolutionJob.resume(tmp_path / "parted", ["generations=12"], progress=False).run()
    assert results(tmp_path / "whole") == results(tmp_path / "parted")
    rows = (tmp_path / "whole" / "screen.csv").read_text().splitlines()
    assert rows[0].endswith("decision,expected_cost,cost_ratio")
    assert rows[1].split(",")[5] == "audit" and rows[2].split(",")[5] in ("exact", "screen")
