import torch

from evofool.algorithms import GeneticAlgorithm, MapElites
from evofool.encodings import CppnEncoding, DirectEncoding
from evofool.encodings.genome_batch import take
from evofool.evaluator import BatchedEvaluator
from evofool.models import load_classifier
from evofool.randomness import RunRandomness


def map_elites(model_path, encoding, seed=0, batch_size=50, classes=None, brightness_bins=1):
    evaluator = BatchedEvaluator(load_classifier(model_path), device="cpu")
    return MapElites(encoding=encoding, evaluator=evaluator, batch_size=batch_size,
                     rng=RunRandomness(seed), classes=classes, brightness_bins=brightness_bins)


def test_noise_is_mostly_one_class_yet_every_cell_fills(trained_lenet):
    """The pitfall: an argmax-keyed archive would fill one cell; ours fills all ten."""
    search = map_elites(trained_lenet["path"], DirectEncoding(channels=1, height=28, width=28),
                        batch_size=200)
    search.step()
    noise = search.encoding.random(200, RunRandomness(5))
    predicted = search.evaluator.score(noise["pixels"]).argmax(dim=1)
    assert torch.bincount(predicted, minlength=10).max() >= 150
    assert search.archive.occupied.all()


def test_cells_can_be_limited_to_some_classes(trained_lenet):
    """The n+1 experiment gives the garbage class no cell; other classes never fill."""
    search = map_elites(trained_lenet["path"], CppnEncoding(channels=1, height=28, width=28),
                        classes=[1, 8])
    for _ in range(3):
        search.step()
    assert search.archive.occupied.nonzero().flatten().tolist() == [1, 8]
    assert search.classes_in_play.tolist() == [1, 8]


def test_champions_only_improve_and_lineage_is_recorded(trained_lenet):
    search = map_elites(trained_lenet["path"], CppnEncoding(channels=1, height=28, width=28))
    search.step()
    before = search.archive.confidence.clone()
    for _ in range(10):
        search.step()
    assert torch.all(search.archive.confidence >= before)
    assert search.evaluations == 11 * 50 and search.generation == 11
    later = search.archive.generation > 0
    assert torch.all(search.archive.parent_id[later] >= 0)
    assert torch.all(search.archive.parent_id[later] < search.archive.genome_id[later])


def test_same_seed_same_champions(trained_lenet):
    def champions(seed):
        search = map_elites(trained_lenet["path"],
                            CppnEncoding(channels=1, height=28, width=28), seed=seed)
        for _ in range(8):
            search.step()
        return search.archive

    first, second, other = champions(3), champions(3), champions(4)
    assert torch.equal(first.confidence, second.confidence)
    for key in first.genomes:
        assert torch.equal(first.genomes[key], second.genomes[key])
    assert not torch.equal(first.confidence, other.confidence)


def test_stepping_stones_hold_the_best_per_brightness_band(trained_lenet):
    """Each stone is the best genome yet for its (band, class); the champion of a
    class is the best of its bands, because every child competes in both."""
    bins = 3
    search = map_elites(trained_lenet["path"], CppnEncoding(channels=1, height=28, width=28),
                        brightness_bins=bins)
    for _ in range(12):
        search.step()
    stones = search.stepping_stones
    by_band = stones.confidence.view(bins, 10)
    assert torch.equal(by_band.max(dim=0).values, search.archive.confidence)
    occupied = stones.occupied.nonzero().flatten()
    assert occupied.numel() > 10  # more parent cells than classes
    images = search.encoding.render(take(stones.genomes, occupied))
    band = (images.mean(dim=(1, 2, 3)) * bins).long().clamp(max=bins - 1)
    assert torch.equal(band, occupied // 10)
    scores = search.evaluator.score(images)[torch.arange(occupied.numel()), occupied % 10]
    assert torch.allclose(scores, stones.confidence[occupied], atol=1e-6)
    later = search.archive.generation > 0  # children of stones, which are stored genomes
    assert torch.all(search.archive.parent_id[later] >= 0)


def test_stepping_stones_respect_the_classes_in_play(trained_lenet):
    search = map_elites(trained_lenet["path"], CppnEncoding(channels=1, height=28, width=28),
                        classes=[1, 8], brightness_bins=2)
    for _ in range(3):
        search.step()
    assert set((search.stepping_stones.occupied.nonzero().flatten() % 10).tolist()) <= {1, 8}


def test_stepping_stones_survive_a_state_round_trip(trained_lenet):
    def fresh():
        return map_elites(trained_lenet["path"], CppnEncoding(channels=1, height=28, width=28),
                          brightness_bins=3)

    whole, first = fresh(), fresh()
    for _ in range(6):
        whole.step()
    for _ in range(3):
        first.step()
    resumed = fresh()
    resumed.load_state_dict(first.state_dict())
    for _ in range(3):
        resumed.step()
    assert torch.equal(resumed.stepping_stones.confidence, whole.stepping_stones.confidence)
    assert torch.equal(resumed.archive.genome_id, whole.archive.genome_id)


def ga(model_path, **overrides):
    settings = dict(targets=[1, 7], population=12, offspring=12, selection="tournament",
                    tournament_size=3, truncation_fraction=0.5, elites=2)
    settings.update(overrides)
    evaluator = BatchedEvaluator(load_classifier(model_path), device="cpu")
    return GeneticAlgorithm(encoding=DirectEncoding(channels=1, height=28, width=28),
                            evaluator=evaluator, rng=RunRandomness(0), **settings)


def test_ga_elitism_never_loses_the_best(trained_lenet):
    for selection in ("tournament", "truncation"):
        search = ga(trained_lenet["path"], selection=selection)
        best = []
        for _ in range(6):
            search.step()
            best.append(search.fitness.max(dim=1).values)
        for earlier, later in zip(best, best[1:], strict=False):
            assert torch.all(later >= earlier)
        assert len(search.logbook) == 6


def test_ga_targets_evolve_only_their_own_class(trained_lenet):
    search = ga(trained_lenet["path"])
    for _ in range(3):
        search.step()
    assert search.archive.occupied.nonzero().flatten().tolist() == [1, 7]
    assert search.fitness.shape == (2, 12)
    torch.testing.assert_close(search.fitness.max(dim=1).values,
                               search.archive.confidence[[1, 7]])


def test_tournament_prefers_fitter_parents(trained_lenet):
    search = ga(trained_lenet["path"])
    search.step()
    search.fitness = torch.arange(24, dtype=torch.float32).view(2, 12)
    chosen = search._select(2000) % 12
    assert chosen.float().mean() > 7.5  # uniform choice would average 5.5
