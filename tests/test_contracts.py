"""Contracts every registered encoding and search algorithm keeps, checked on each of them
with a small deterministic fake classifier: no training, no dataset, a second or two.

The tests run over the registries (evofool.encodings.registry, evofool.algorithms.registry),
so a newly registered part gets every test without touching this file; conftest registers
a tiny example encoding (tests/example_encoding.py) to show it.
"""

import io
import itertools

import pytest
import torch
from conftest import FAKE_CLASSES, FAKE_SHAPE

from evofool.algorithms import ALGORITHMS as ALGORITHM_REGISTRY
from evofool.algorithms import Search
from evofool.algorithms.cma_me import CmaMeSettings
from evofool.algorithms.genetic import GeneticSettings
from evofool.algorithms.gradient_ascent import AscentSettings
from evofool.algorithms.gradient_variation import GradientSettings
from evofool.algorithms.map_elites import MapElitesSettings
from evofool.encodings import ENCODINGS as ENCODING_REGISTRY
from evofool.encodings import encoding_for_shape
from evofool.encodings.genome_batch import take
from evofool.encodings.genome_codec import record_from_bytes, record_to_bytes
from evofool.evaluation import LocalEvaluator
from evofool.evaluation.scorer import ImageScorer
from evofool.randomness import RunRandomness

SHAPE, CLASSES = FAKE_SHAPE, FAKE_CLASSES


@pytest.fixture(scope="module")
def evaluator(fake_classifier) -> ImageScorer:
    return ImageScorer(fake_classifier, device="cpu", max_batch=64, engine="torch")


# Settings that keep the shipped parts small or exercise more of them; every other
# registered part runs on its defaults.
SMALL_ENCODINGS = {"direct": {"crossover_rate": 0.5}, "cppn": {"max_hidden": 6}}
ENCODINGS = {name: ENCODING_REGISTRY[name].settings(**SMALL_ENCODINGS.get(name, {}))
             for name in ENCODING_REGISTRY.names()}
ENCODINGS["cppn_crossover"] = ENCODING_REGISTRY["cppn"].settings(max_hidden=6, crossover=0.5)
ALGORITHMS = {name: ALGORITHM_REGISTRY[name].settings() for name in ALGORITHM_REGISTRY.names()}
ALGORITHMS.update({
    "map_elites": MapElitesSettings(batch_size=16),
    "map_elites_bands": MapElitesSettings(batch_size=16, classes=[0, 1, 3], brightness_bins=3),
    "map_elites_learning": MapElitesSettings(batch_size=16, brightness_bins=2,
                                             parents="curiosity", mutation_strength="adaptive"),
    "map_elites_gradient": MapElitesSettings(batch_size=16, brightness_bins=2, gradient=(
        GradientSettings(parents=2, children=3, steps=2, normalise="adam", resolution=6))),
    "cma_me": CmaMeSettings(batch_size=24, emitters=2, sigma=2.0),
    "ga": GeneticSettings(targets=[0, 2], population=6, offspring=8),
    "ga_truncation": GeneticSettings(targets=[4], population=5, offspring=5,
                                     selection="truncation", truncation_fraction=0.4, elites=2),
    "ascent": AscentSettings(targets=[1, 3], steps_per_generation=2),
})


def make_encoding(name: str):
    return encoding_for_shape(ENCODINGS[name], SHAPE)


def _fits(algorithm: str, encoding: str) -> bool:
    """Gradient ascent changes pixels: the direct encoding only; CMA-ME searches over CPPN
    weights; gradient children need an encoding with a gradient (not the example's tiles)."""
    settings = ALGORITHMS[algorithm]
    return ((encoding == "direct" or not settings.needs_gradients)
            and settings.encodings in (None, {ENCODINGS[encoding].type})
            and (getattr(settings, "gradient", None) is None
                 or hasattr(make_encoding(encoding), "gradient_direction")))


PAIRS = [pair for pair in itertools.product(ALGORITHMS, ENCODINGS) if _fits(*pair)]


def build(algorithm: str, encoding: str, evaluator, seed: int = 0) -> Search:
    settings = ALGORITHMS[algorithm]
    encoding = make_encoding(encoding)
    return ALGORITHM_REGISTRY[settings.type].build(
        settings, encoding=encoding, evaluator=LocalEvaluator(encoding, evaluator),
        rng=RunRandomness(seed))


def test_every_registered_part_is_under_contract():
    assert "tiles" in ENCODINGS  # the examples, registered from conftest, are picked up
    assert "sticky" in ALGORITHMS
    assert {settings.type for settings in ALGORITHMS.values()} == set(
        ALGORITHM_REGISTRY.names())
    assert {ENCODINGS[encoding].type for _, encoding in PAIRS} == set(ENCODING_REGISTRY.names())


def checkpointed(state: dict) -> dict:
    """``state`` after a trip through torch.save / torch.load, as a checkpoint takes it."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=False)


def same(left, right) -> bool:
    if isinstance(left, torch.Tensor):
        return isinstance(right, torch.Tensor) and torch.equal(left, right)
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list | tuple):
        return len(left) == len(right) and all(map(same, left, right))
    return left == right


@pytest.mark.parametrize("name", ENCODINGS)
def test_encoding_renders_images_in_range(name):
    encoding = make_encoding(name)
    rng = RunRandomness(0)
    genomes = encoding.random(6, rng)
    children = encoding.offspring(genomes, genomes if encoding.uses_mates else None, rng, 1)
    for batch in (genomes, children):
        images = encoding.render(batch)
        assert images.shape == (6, *SHAPE) and images.dtype == torch.float32
        assert 0 <= images.min() and images.max() <= 1
    assert tuple(encoding.image_shape) == SHAPE


@pytest.mark.parametrize("name", ENCODINGS)
def test_encoding_records_round_trip_exactly(name):
    encoding = make_encoding(name)
    rng = RunRandomness(1)
    parents = encoding.random(4, rng)
    genomes = encoding.offspring(parents, parents if encoding.uses_mates else None, rng, 1)
    for index in range(4):
        record = record_from_bytes(record_to_bytes(encoding.to_record(genomes, index),
                                                   encoding.record_format))
        assert torch.equal(encoding.render(encoding.from_record(record)),
                           encoding.render(take(genomes, torch.tensor([index]))))


@pytest.mark.parametrize("name", ENCODINGS)
def test_encoding_draws_only_from_the_run_generator(name):
    def draw(seed):
        rng = RunRandomness(seed)
        encoding = make_encoding(name)
        parents = encoding.random(5, rng)
        return encoding.render(encoding.offspring(
            parents, parents if encoding.uses_mates else None, rng, 3))

    torch.manual_seed(123)  # the global generator must not matter
    first = draw(7)
    torch.manual_seed(456)
    assert torch.equal(first, draw(7)) and not torch.equal(first, draw(8))


@pytest.mark.numerics
@pytest.mark.parametrize("algorithm, encoding", PAIRS)
def test_search_is_determined_by_its_seed(algorithm, encoding, evaluator):
    runs = [build(algorithm, encoding, evaluator, seed) for seed in (0, 0, 1)]
    for search in runs:
        for _ in range(4):
            search.step()
    states = [search.state_dict() for search in runs]
    assert same(states[0], states[1])
    assert not same(states[0]["archive"], states[2]["archive"])


@pytest.mark.numerics
@pytest.mark.parametrize("algorithm, encoding", PAIRS)
def test_resumed_search_equals_an_uninterrupted_one(algorithm, encoding, evaluator):
    whole = build(algorithm, encoding, evaluator)
    first = build(algorithm, encoding, evaluator)
    for _ in range(3):
        whole.step()
        first.step()
    resumed = build(algorithm, encoding, evaluator, seed=99)  # the state decides, not the seed
    resumed.load_state_dict(checkpointed(first.state_dict()))
    for _ in range(3):
        whole.step()
        resumed.step()
    assert same(whole.state_dict(), resumed.state_dict())


@pytest.mark.numerics
@pytest.mark.parametrize("algorithm, encoding", PAIRS)
def test_archive_keeps_the_best_of_its_classes_only(algorithm, encoding, evaluator):
    search = build(algorithm, encoding, evaluator)
    in_play = set(search.classes_in_play.tolist())
    best = torch.full((CLASSES,), -1.0)
    for generation in range(5):
        evaluations = search.evaluations
        search.step()
        archive = search.archive
        assert search.generation == generation + 1 and search.evaluations > evaluations
        occupied = set(archive.occupied.nonzero().flatten().tolist())
        assert occupied == in_play  # every class in play has a champion, no other has
        confidence = archive.confidence.where(archive.occupied, torch.tensor(-1.0))
        assert (confidence >= best).all()  # a champion is only ever replaced by a better one
        best = confidence
        assert (archive.genome_id[archive.occupied] < search.next_genome_id).all()
        # lineage: a parent is always born before its child (-1: no parent)
        assert (archive.parent_id[archive.occupied] < archive.genome_id[archive.occupied]).all()
    # the stored champion really scores what the archive says
    classes = sorted(in_play)
    images = search.encoding.render(take(search.archive.genomes, torch.tensor(classes)))
    scored = evaluator.score(images)[torch.arange(len(classes)), classes]
    assert torch.allclose(scored, search.archive.confidence[classes], atol=1e-6)


def test_a_registered_encoding_is_a_config_key_and_runs_end_to_end(small_lenets, tmp_path):
    from evofool.errors import ConfigError
    from evofool.run.config import config_from_dict
    from evofool.run.job import EvolutionJob
    from evofool.run.stored import StoredRun

    with pytest.raises(ConfigError, match="encoding.tiles must be positive"):
        config_from_dict({"generations": 1, "encoding": {"type": "tiles", "tiles": 0}})
    config = config_from_dict({"model": str(small_lenets[0]), "generations": 3,
                               "encoding": {"type": "tiles", "tiles": 7},
                               "algorithm": {"type": "map_elites", "batch_size": 20}})
    summary = EvolutionJob.start(config, tmp_path / "run", progress=False).run()
    run = StoredRun(tmp_path / "run")
    try:
        champion = run.champions()[0]
        image = run.render([champion.genome_id])[0]
    finally:
        run.close()
    assert run.config.encoding.tiles == 7 and len(summary["classes"]) == 10
    assert image.shape == (1, 28, 28) and len({float(v) for v in image.flatten()}) <= 49
