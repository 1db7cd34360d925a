import torch

from evofool.algorithms.parent_choice import Curiosity, StepSizes
from evofool.randomness import RunRandomness


def test_curiosity_is_uniform_until_children_are_kept_then_favours_their_cells():
    curiosity = Curiosity(4, torch.device("cpu"))
    cells = torch.tensor([0, 1, 3])
    counts = torch.bincount(curiosity.draw(cells, 30000, RunRandomness(0)), minlength=4)
    assert counts[2] == 0 and (counts[cells] - 10000).abs().max() < 400
    curiosity.tell(torch.tensor([3, 3, 3, 1, 1]), torch.tensor([True, True, True, False, False]))
    assert curiosity.score.tolist() == [0.0, 0.0, 0.0, 3.0]  # never below zero
    counts = torch.bincount(curiosity.draw(cells, 30000, RunRandomness(1)), minlength=4)
    assert abs(counts[3] / 30000 - 4 / 6) < 0.02  # weights 1 : 1 : 4


def test_step_sizes_follow_the_one_fifth_rule_within_bounds():
    sizes = StepSizes(3, torch.device("cpu"))
    one_in_five = torch.tensor([True, False, False, False, False])
    sizes.tell(torch.zeros(5, dtype=torch.long), one_in_five)
    sizes.tell(torch.ones(5, dtype=torch.long), torch.ones(5, dtype=torch.bool))
    sizes.tell(torch.full((5,), 2, dtype=torch.long), torch.zeros(5, dtype=torch.bool))
    strength = sizes.of(torch.tensor([0, 1, 2]))
    assert abs(float(strength[0]) - 1.0) < 1e-6  # a fifth kept: unchanged
    assert abs(float(strength[1]) - 1.25 ** 5) < 1e-4 and float(strength[2]) < 1.0
    for _ in range(100):
        sizes.tell(torch.ones(5, dtype=torch.long), torch.ones(5, dtype=torch.bool))
    assert float(sizes.of(torch.tensor([1]))) == 8.0
