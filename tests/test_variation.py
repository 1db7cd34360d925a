"""The vectorised operators against DEAP's reference implementations, statistically."""

import random

import numpy as np
import pytest
import torch
from deap import tools
from scipy import stats

from evofool.encodings.variation import polynomial_mutation, simulated_binary_crossover
from evofool.randomness import RunRandomness

SAMPLES = 20000


@pytest.mark.parametrize("start", [0.05, 0.5, 0.93])
def test_polynomial_mutation_matches_deap_in_distribution(start):
    random.seed(0)
    deap_values = np.array([
        tools.mutPolynomialBounded([start], eta=15.0, low=0.0, up=1.0, indpb=1.0)[0][0]
        for _ in range(SAMPLES)])
    ours = polynomial_mutation(torch.full((SAMPLES,), start), low=0.0, high=1.0, eta=15.0,
                               rate=1.0, rng=RunRandomness(0)).numpy()
    assert stats.ks_2samp(deap_values, ours).pvalue > 0.01
    # And it is not trivially true: a different eta is told apart.
    wider = polynomial_mutation(torch.full((SAMPLES,), start), low=0.0, high=1.0, eta=2.0,
                                rate=1.0, rng=RunRandomness(1)).numpy()
    assert stats.ks_2samp(deap_values, wider).pvalue < 1e-6


def test_polynomial_mutation_rate_and_bounds():
    values = torch.rand(200, 784, generator=torch.Generator().manual_seed(0))
    mutated = polynomial_mutation(values, low=0.0, high=1.0, eta=15.0, rate=0.1,
                                  rng=RunRandomness(0))
    changed = (mutated != values).float().mean().item()
    assert 0.09 < changed < 0.11
    assert mutated.min() >= 0 and mutated.max() <= 1


def test_polynomial_mutation_respects_where_mask():
    values = torch.zeros(50, 50)
    where = torch.zeros(50, 50, dtype=torch.bool)
    where[:, :5] = True
    mutated = polynomial_mutation(values, low=-3.0, high=3.0, eta=15.0, rate=1.0,
                                  rng=RunRandomness(0), where=where)
    assert torch.all(mutated[:, 5:] == 0) and torch.all(mutated[:, :5] != 0)


def test_sbx_matches_deap_in_distribution():
    random.seed(0)
    first, second = 0.3, 0.6
    deap_children = np.array([
        tools.cxSimulatedBinaryBounded([first], [second], eta=10.0, low=0.0, up=1.0)[0][0]
        for _ in range(SAMPLES)], dtype=np.float32)  # half stay at 0.3: compare as float32
    ours, _ = simulated_binary_crossover(
        torch.full((SAMPLES,), first), torch.full((SAMPLES,), second), low=0.0, high=1.0,
        eta=10.0, gene_rate=0.5, rng=RunRandomness(0))
    assert stats.ks_2samp(deap_children, ours.numpy()).pvalue > 0.01


def test_sbx_children_stay_in_bounds():
    rng = RunRandomness(0)
    a, b = torch.rand(100, 100), torch.rand(100, 100)
    one, two = simulated_binary_crossover(a, b, low=0.0, high=1.0, eta=10.0, gene_rate=1.0,
                                          rng=rng)
    assert one.min() >= 0 and one.max() <= 1 and two.min() >= 0 and two.max() <= 1
    assert (one != a).float().mean() > 0.99  # every gene crossed at gene_rate 1
