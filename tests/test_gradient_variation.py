"""Gradient children (algorithm.gradient): the CPPN's weight gradient is the renderer's,
children along it gain in their class where blind steps do not, the counts are kept
apart from evaluations, and what cannot be differentiated is refused in one line."""

import csv
import json

import pytest
import torch
from conftest import FAKE_CLASSES

from evofool.algorithms.gradient_variation import (
    GradientSettings,
    GradientVariation,
    normalised_direction,
)
from evofool.algorithms.map_elites import MapElites, MapElitesSettings
from evofool.encodings import CppnEncoding
from evofool.encodings.genome_batch import take
from evofool.errors import ConfigError
from evofool.evaluation import LocalEvaluator
from evofool.evaluation.scorer import ImageScorer
from evofool.randomness import RunRandomness
from evofool.run.config import config_from_mapping


@pytest.fixture(scope="module")
def scorer(fake_classifier) -> ImageScorer:
    return ImageScorer(fake_classifier, device="cpu", engine="torch")


@pytest.fixture(scope="module")
def evolved(scorer):
    """Genomes with hidden nodes of every kind: the champions of a short CPPN run."""
    encoding = CppnEncoding(*scorer.classifier.input_spec.shape, max_hidden=6)
    search = MapElites(MapElitesSettings(batch_size=32), encoding=encoding,
                       evaluator=LocalEvaluator(encoding, scorer), rng=RunRandomness(3))
    for _ in range(15):
        search.step()
    return encoding, search.archive.genomes


def test_the_weight_gradient_is_the_renderers(evolved):
    """Along a random direction in weight space, the backward pass's derivative matches a
    central difference of the production renderer's images."""
    encoding, genomes = evolved
    assert int(genomes["alive"][:, encoding.channels + 4:].sum()) > 0  # hidden nodes in play
    pixel_gradient = torch.randn(genomes["alive"].shape[0], *encoding.image_shape,
                                 generator=torch.Generator().manual_seed(0))
    gradient = encoding.gradient_direction(genomes, pixel_gradient, resolution=None)["weight"]
    direction = torch.randn(gradient.shape, generator=torch.Generator().manual_seed(1))
    direction = torch.where(genomes["connected"], direction, 0.0)
    step = torch.full((direction.shape[0],), 1e-3)

    def inner(sign):
        moved = encoding.stepped(genomes, {"weight": sign * direction}, step)
        return (encoding.render(moved).double() * pixel_gradient).sum(dim=(1, 2, 3))

    numeric = (inner(1) - inner(-1)) / 2e-3
    analytic = (gradient * direction).sum(dim=(1, 2))
    assert torch.allclose(analytic.double(), numeric, rtol=0.05, atol=0.05)


def test_gradient_children_gain_in_their_class_where_blind_steps_do_not(evolved, scorer):
    encoding, genomes = evolved
    parents = take(genomes, torch.arange(FAKE_CLASSES))
    targets = (torch.arange(FAKE_CLASSES) + 1) % FAKE_CLASSES  # a class each is not yet sure of
    settings = GradientSettings(parents=FAKE_CLASSES, children=4, step_min=0.05, step_max=0.05,
                                normalise="unit", noise=0.0, resolution=None)
    variation = GradientVariation(settings, encoding=encoding,
                                  evaluator=LocalEvaluator(encoding, scorer))
    children, steps = variation.children(parents, targets, RunRandomness(0), generation=1)
    assert steps == FAKE_CLASSES

    def log_p(batch, classes):
        return scorer.score(encoding.render(batch)).gather(1, classes.view(-1, 1)).log().flatten()

    by_child = torch.arange(FAKE_CLASSES).repeat_interleave(4)
    classes = targets.repeat_interleave(4)
    before = log_p(take(parents, by_child), classes)
    gain = log_p(children, classes) - before
    noise = torch.randn(children["weight"].shape, generator=torch.Generator().manual_seed(0))
    blind_direction, _ = normalised_direction(
        {"weight": torch.where(children["connected"], noise, 0.0)}, "unit", None, 1)
    blind = encoding.stepped(take(parents, by_child), blind_direction,
                             torch.full((by_child.numel(),), 0.05))
    blind_gain = log_p(blind, classes) - before
    assert (gain > 0).float().mean() >= 0.9
    assert gain.mean() > 3 * blind_gain.abs().mean()


def test_a_run_with_gradient_children_counts_them_apart(tmp_path, trained_lenet, cli):
    out = tmp_path / "run"
    result = cli("run", "configs/mnist_cppn.yaml", "--out", str(out), "--quiet",
                 "--set", f"model={trained_lenet['path']}", "--set", "generations=3",
                 "--set", "algorithm.batch_size=40",
                 "--set", "algorithm.gradient={parents: 2, children: 5}")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert [int(row["gradient_steps"]) for row in rows] == [0, 2, 4]  # none in generation 0
    assert [int(row["evaluations"]) for row in rows] == [40, 80, 120]
    assert json.loads((out / "summary.json").read_text())["gradient_steps"] == 4


@pytest.mark.parametrize("settings, message", [
    ({"algorithm": {"type": "map_elites", "batch_size": 10,
                    "gradient": {"parents": 3, "children": 4}}},
     "parents x children (12) must not exceed algorithm.batch_size (10)"),
    ({"algorithm": {"type": "map_elites", "gradient": {"step_min": 2, "step_max": 1}}},
     "step_min must not exceed step_max"),
    ({"algorithm": {"type": "map_elites", "gradient": {}},
      "evaluator": {"defenses": [{"type": "jpeg"}]}},
     "input defences block the model's gradient"),
])
def test_what_cannot_be_differentiated_is_one_line(settings, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config_from_mapping({"model": "mnist-lenet", "generations": 1, **settings})
