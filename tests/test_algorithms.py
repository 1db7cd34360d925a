import torch

from evofool.algorithms import GeneticAlgorithm, MapElites
from evofool.encodings import CppnEncoding, DirectEncoding
from evofool.evaluator import BatchedEvaluator
from evofool.models import load_classifier
from evofool.randomness import RunRandomness


def map_elites(model_path, encoding, seed=0, batch_size=50, classes=None):
    evaluator = BatchedEvaluator(load_classifier(model_path), device="cpu")
    return MapElites(encoding=encoding, evaluator=evaluator, batch_size=batch_size,
                     rng=RunRandomness(seed), classes=classes)


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
