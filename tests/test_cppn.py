import json

import pytest
import torch

from evofool.encodings import CppnEncoding, CppnMutationRates
from evofool.encodings.cppn.layout import NUM_INPUTS
from evofool.encodings.cppn.render import render_reference
from evofool.randomness import RunRandomness


def evolved(encoding, count=64, generations=40, seed=0):
    """A population after some generations of unselected mutation: varied, grown shapes."""
    rng = RunRandomness(seed)
    genomes = encoding.random(count, rng)
    for generation in range(generations):
        genomes = encoding.offspring(genomes, genomes, rng, generation)
    return genomes


def hidden_counts(encoding, genomes):
    return genomes["alive"][:, NUM_INPUTS + encoding.channels:].sum(dim=1)


def test_first_genomes_wire_inputs_straight_to_outputs():
    encoding = CppnEncoding(channels=3, height=8, width=8)
    genomes = encoding.random(5, RunRandomness(0))
    assert torch.all(hidden_counts(encoding, genomes) == 0)
    assert torch.all(genomes["connected"].sum(dim=(1, 2)) == NUM_INPUTS * 3)
    assert genomes["weight"].abs().max() <= encoding.weight_bound


@pytest.mark.parametrize("channels, height, width", [(1, 28, 28), (3, 20, 32)])
def test_batched_render_equals_reference(channels, height, width):
    encoding = CppnEncoding(channels=channels, height=height, width=width)
    genomes = evolved(encoding)
    assert hidden_counts(encoding, genomes).max() >= 3  # the check covers deep networks
    images = encoding.render(genomes)
    assert images.shape == (64, channels, height, width)
    assert images.min() >= 0 and images.max() <= 1
    for index in range(64):
        reference = render_reference(encoding.to_record(genomes, index), height=height,
                                     width=width)
        torch.testing.assert_close(images[index], reference, atol=1e-5, rtol=0)


def test_any_resolution_draws_the_same_pattern():
    small = CppnEncoding(channels=1, height=16, width=16)
    large = CppnEncoding(channels=1, height=64, width=64)
    genomes = evolved(small, count=4)
    downscaled = torch.nn.functional.avg_pool2d(large.render(genomes), 4)
    assert (downscaled - small.render(genomes)).abs().mean() < 0.1


def test_connections_always_go_forward_in_order():
    encoding = CppnEncoding(channels=1, height=8, width=8)
    genomes = evolved(encoding, generations=80)
    order = genomes["order"]
    src_order = order.unsqueeze(1).expand_as(genomes["connected"])
    dst_order = order.unsqueeze(2).expand_as(genomes["connected"])
    assert torch.all(src_order[genomes["connected"]] <= dst_order[genomes["connected"]])


def test_unused_slots_and_absent_connections_hold_zeros():
    encoding = CppnEncoding(channels=1, height=8, width=8)
    genomes = evolved(encoding)
    assert torch.all(genomes["weight"][~genomes["connected"]] == 0)
    assert torch.all(genomes["order"][~genomes["alive"]] == 0)
    dead = ~genomes["alive"]
    assert not genomes["connected"][dead.unsqueeze(2).expand_as(genomes["connected"])].any()


def test_record_round_trips_exactly_through_json():
    encoding = CppnEncoding(channels=3, height=8, width=8)
    genomes = evolved(encoding, count=8)
    for index in range(8):
        record = json.loads(json.dumps(encoding.to_record(genomes, index)))
        restored = encoding.from_record(record)
        for key, value in genomes.items():
            assert torch.equal(restored[key][0], value[index]), key


def test_bad_records_are_refused():
    encoding = CppnEncoding(channels=1, height=8, width=8)
    record = encoding.to_record(encoding.random(1, RunRandomness(0)), 0)
    with pytest.raises(ValueError, match="outputs"):
        CppnEncoding(channels=3, height=8, width=8).from_record(record)
    record["connections"].append([2, 99, 0.5])
    with pytest.raises((ValueError, IndexError)):
        encoding.from_record(record)


def only(**rates):
    base = dict(add_connection=0, delete_connection=0, add_node=0, delete_node=0, weight=0,
                activation=0)
    return CppnMutationRates(**{**base, **rates})


def test_add_node_splits_one_connection():
    encoding = CppnEncoding(channels=1, height=8, width=8, rates=only(add_node=1.0))
    parents = encoding.random(20, RunRandomness(0))
    children = encoding.offspring(parents, parents, RunRandomness(1), 0)
    assert torch.all(hidden_counts(encoding, children) == 1)
    assert torch.all(children["connected"].sum(dim=(1, 2)) == NUM_INPUTS + 1)


def test_delete_connection_removes_exactly_one():
    encoding = CppnEncoding(channels=1, height=8, width=8, rates=only(delete_connection=1.0))
    parents = encoding.random(20, RunRandomness(0))
    children = encoding.offspring(parents, parents, RunRandomness(1), 0)
    assert torch.all(children["connected"].sum(dim=(1, 2)) == NUM_INPUTS - 1)


def test_add_connection_and_delete_node_rates():
    grow = CppnEncoding(channels=1, height=8, width=8, rates=only(add_node=1.0))
    parents = grow.offspring(grow.random(500, RunRandomness(0)), None, RunRandomness(1), 0)
    add = CppnEncoding(channels=1, height=8, width=8, rates=only(add_connection=0.5))
    children = add.offspring(parents, None, RunRandomness(2), 0)
    gained = (children["connected"].sum(dim=(1, 2)) - parents["connected"].sum(dim=(1, 2)))
    assert set(gained.tolist()) <= {0, 1} and 0.4 < gained.float().mean() < 0.6
    delete = CppnEncoding(channels=1, height=8, width=8, rates=only(delete_node=1.0))
    pruned = delete.offspring(parents, None, RunRandomness(3), 0)
    assert torch.all(hidden_counts(delete, pruned) == 0)


def test_weight_mutation_touches_about_a_tenth_of_connections():
    encoding = CppnEncoding(channels=3, height=8, width=8, rates=only(weight=0.1))
    parents = encoding.random(2000, RunRandomness(0))
    children = encoding.offspring(parents, None, RunRandomness(1), 0)
    changed = (children["weight"] != parents["weight"])[parents["connected"]].float().mean()
    assert 0.09 < changed < 0.11


def test_full_genomes_do_not_grow():
    encoding = CppnEncoding(channels=1, height=8, width=8, max_hidden=2,
                            rates=only(add_node=1.0))
    rng = RunRandomness(0)
    genomes = encoding.random(10, rng)
    for generation in range(5):
        genomes = encoding.offspring(genomes, None, rng, generation)
    assert torch.all(hidden_counts(encoding, genomes) == 2)
