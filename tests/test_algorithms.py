"""What each search algorithm does beyond the contracts every one keeps (test_contracts):
the paper's every-class rule on a real LeNet, stepping stones, GA selection and elitism."""

import pytest
import torch
from conftest import FAKE_CLASSES

from evofool.algorithms import GeneticAlgorithm, MapElites
from evofool.algorithms.genetic import GeneticSettings
from evofool.algorithms.map_elites import MapElitesSettings
from evofool.encodings import CppnEncoding, DirectEncoding
from evofool.encodings.genome_batch import take
from evofool.evaluation import LocalEvaluator
from evofool.evaluation.scorer import ImageScorer
from evofool.models import load_classifier
from evofool.randomness import RunRandomness


@pytest.fixture(scope="module")
def fake(fake_classifier) -> ImageScorer:
    return ImageScorer(fake_classifier, device="cpu", engine="torch")


def cppn(evaluator):
    return CppnEncoding(*evaluator.classifier.input_spec.shape, max_hidden=6)


def evaluator_of(encoding, evaluator):
    return LocalEvaluator(encoding, evaluator)


def test_noise_is_mostly_one_class_yet_every_cell_fills(trained_lenet):
    """The pitfall: an argmax-keyed archive would fill one cell; ours fills all ten."""
    evaluator = ImageScorer(load_classifier(trained_lenet["path"]), device="cpu")
    encoding = DirectEncoding(channels=1, height=28, width=28)
    search = MapElites(MapElitesSettings(batch_size=200), rng=RunRandomness(0),
                       encoding=encoding, evaluator=LocalEvaluator(encoding, evaluator))
    search.step()
    noise = search.encoding.random(200, RunRandomness(5))
    predicted = evaluator.score(noise["pixels"]).argmax(dim=1)
    assert torch.bincount(predicted, minlength=10).max() >= 150
    assert search.archive.occupied.all()


def test_stepping_stones_hold_the_best_per_brightness_band(fake):
    """Each stone is the best genome yet for its (band, class); the champion of a
    class is the best of its bands, because every child competes in both."""
    bins = 3
    search = MapElites(MapElitesSettings(batch_size=50, brightness_bins=bins),
                       encoding=cppn(fake), evaluator=evaluator_of(cppn(fake), fake),
                       rng=RunRandomness(0))
    for _ in range(12):
        search.step()
    stones = search.stepping_stones
    by_band = stones.confidence.view(bins, FAKE_CLASSES)
    assert torch.equal(by_band.max(dim=0).values, search.archive.confidence)
    occupied = stones.occupied.nonzero().flatten()
    assert occupied.numel() > FAKE_CLASSES  # more parent cells than classes
    images = search.encoding.render(take(stones.genomes, occupied))
    eight_bit_mean = images.double().mul(255).round().mean(dim=(1, 2, 3)) / 255
    band = (eight_bit_mean * bins).long().clamp(max=bins - 1)
    assert torch.equal(band, occupied // FAKE_CLASSES)
    scores = fake.score(images)[torch.arange(occupied.numel()), occupied % FAKE_CLASSES]
    assert torch.allclose(scores, stones.confidence[occupied], atol=1e-6)
    later = search.archive.generation > 0  # children of stones, which are stored genomes
    assert torch.all(search.archive.parent_id[later] >= 0)


def test_stepping_stones_respect_the_classes_in_play(fake):
    search = MapElites(MapElitesSettings(batch_size=50, classes=[1, 3], brightness_bins=2),
                       encoding=cppn(fake), evaluator=evaluator_of(cppn(fake), fake),
                       rng=RunRandomness(0))
    for _ in range(3):
        search.step()
    assert set((search.stepping_stones.occupied.nonzero().flatten() % FAKE_CLASSES).tolist()
               ) <= {1, 3}


def ga(evaluator, **overrides):
    settings = GeneticSettings(**{"targets": [1, 3], "population": 12, "offspring": 12,
                                  "elites": 2, **overrides})
    encoding = DirectEncoding(*evaluator.classifier.input_spec.shape)
    return GeneticAlgorithm(settings, encoding=encoding,
                            evaluator=evaluator_of(encoding, evaluator), rng=RunRandomness(0))


@pytest.mark.parametrize("selection", ["tournament", "truncation"])
def test_ga_elitism_never_loses_the_best(fake, selection):
    search = ga(fake, selection=selection)
    best = []
    for _ in range(6):
        search.step()
        best.append(search.fitness.max(dim=1).values)
    for earlier, later in zip(best, best[1:], strict=False):
        assert torch.all(later >= earlier)
    assert len(search.logbook) == 6
    torch.testing.assert_close(search.fitness.max(dim=1).values, search.archive.confidence[[1, 3]])


def test_tournament_prefers_fitter_parents(fake):
    search = ga(fake)
    search.step()
    search.fitness = torch.arange(24, dtype=torch.float32).view(2, 12)
    chosen = search._select(2000) % 12
    assert chosen.float().mean() > 7.5  # uniform choice would average 5.5
