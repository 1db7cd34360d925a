import numpy as np
import pytest
import torch

from evofool.encodings import DirectEncoding
from evofool.randomness import RunRandomness


def test_rate_halves_every_thousand_generations_by_default():
    encoding = DirectEncoding(channels=1, height=28, width=28)
    assert [encoding.rate_at(g) for g in (0, 999, 1000, 2500)] == [0.1, 0.1, 0.05, 0.025]


def test_constant_rate_as_the_original_code():
    encoding = DirectEncoding(channels=1, height=28, width=28, halving_generations=None)
    assert encoding.rate_at(5000) == 0.1


def test_random_genomes_are_uniform_images():
    genomes = DirectEncoding(channels=3, height=8, width=9).random(500, RunRandomness(0))
    pixels = genomes["pixels"]
    assert pixels.shape == (500, 3, 8, 9)
    assert 0 <= pixels.min() and pixels.max() < 1 and abs(pixels.mean().item() - 0.5) < 0.01


def test_offspring_mutate_about_rate_of_genes():
    encoding = DirectEncoding(channels=1, height=28, width=28)
    parents = encoding.random(200, RunRandomness(0))
    children = encoding.offspring(parents, parents, RunRandomness(1), generation=1000)
    changed = (children["pixels"] != parents["pixels"]).float().mean().item()
    assert 0.04 < changed < 0.06  # rate 0.05 after one halving


def test_crossover_mixes_parents_when_enabled():
    encoding = DirectEncoding(channels=1, height=4, width=4, crossover_rate=1.0,
                              mutation_rate=0.0)
    zeros = {"pixels": torch.zeros(10, 1, 4, 4)}
    ones = {"pixels": torch.ones(10, 1, 4, 4)}
    children = encoding.offspring(zeros, ones, RunRandomness(0), generation=0)
    assert children["pixels"].sum() > 0


def test_record_round_trip_is_exact():
    encoding = DirectEncoding(channels=1, height=28, width=28)
    genomes = encoding.random(3, RunRandomness(0))
    record = encoding.to_record(genomes, 2)
    assert isinstance(record, np.ndarray)
    assert torch.equal(encoding.from_record(record)["pixels"][0], genomes["pixels"][2])
    with pytest.raises(ValueError, match="shape"):
        encoding.from_record(np.zeros((1, 5, 5)))
