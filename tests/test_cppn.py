import json

import pytest
import torch

from evofool.encodings import CppnEncoding, CppnMutationRates
from evofool.encodings.cppn.cpu_kernel import render_on_cpu
from evofool.encodings.cppn.crossover import aligned_crossover
from evofool.encodings.cppn.grid import coordinate_inputs
from evofool.encodings.cppn.layout import NUM_INPUTS
from evofool.encodings.cppn.program import FULL, build_program
from evofool.encodings.cppn.render import render_reference, render_with_torch
from evofool.encodings.image_buffer import ImageBuffer
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


FLOAT32_EPSILON = 2.0 ** -24  # unit roundoff
# How far each node function can stretch an error in its input: its largest slope.
# sin: 1; 2*sigmoid(z) - 1: 2 * 1/4; exp(-z^2): sqrt(2/e); clip(z, -3, 3)/3: 1/3.
LIPSCHITZ = {"sin": 1.0, "sigmoid": 0.5, "gaussian": (2 / torch.e) ** 0.5, "linear": 1 / 3}
LIBRARY_ULPS = 4  # vectorised and scalar sin/exp/sigmoid may each be off by a few ulps


def float32_error_bound(record, *, height, width):
    """Per pixel, a bound on |float32 render - exact render| for one genome (outputs, H, W).

    Walks the network like render_reference, in float64. At a node with k inputs,
    the weighted sum's rounding is at most gamma(k + 1) * sum |w||v| in any order
    of summation (Higham, Accuracy and Stability of Numerical Algorithms, 3.1),
    gamma(n) = n u / (1 - n u); the inputs' own errors arrive scaled by |w|; the
    node function stretches both by its Lipschitz constant and adds its own
    few-ulp error. Two renderers that differ only in summation order and kernel
    choice (what a processor's MKL path changes) then differ by at most twice this.
    """
    inputs = coordinate_inputs(height, width, torch.device("cpu")).double()
    value = {slot: inputs[slot] for slot in range(NUM_INPUTS)}
    error = {slot: torch.zeros_like(inputs[0]) for slot in range(NUM_INPUTS)}
    incoming = {node["id"]: [] for node in record["nodes"]}
    for src, dst, weight in record["connections"]:
        incoming[dst].append((src, weight))
    function = {node["id"]: node["activation"] for node in record["nodes"]}
    functions = {"sin": torch.sin, "sigmoid": lambda z: 2 * torch.sigmoid(z) - 1,
                 "gaussian": lambda z: torch.exp(-z * z),
                 "linear": lambda z: z.clamp(-3, 3) / 3}
    pending = set(incoming)
    while pending:
        for node in sorted(n for n in pending if all(s in value for s, _ in incoming[n])):
            k = len(incoming[node])
            gamma = (k + 1) * FLOAT32_EPSILON / (1 - (k + 1) * FLOAT32_EPSILON)
            z = sum((w * value[s] for s, w in incoming[node]), torch.zeros_like(inputs[0]))
            magnitude = sum((abs(w) * value[s].abs() for s, w in incoming[node]),
                            torch.zeros_like(inputs[0]))
            carried = sum((abs(w) * error[s] for s, w in incoming[node]),
                          torch.zeros_like(inputs[0]))
            value[node] = functions[function[node]](z)
            error[node] = (LIPSCHITZ[function[node]] * (carried + gamma * magnitude)
                           + LIBRARY_ULPS * FLOAT32_EPSILON * (value[node].abs() + 1))
            pending.discard(node)
    outputs = [error[NUM_INPUTS + index] for index in range(record["outputs"])]
    return torch.stack(outputs).view(-1, height, width)  # |.| and clipping add no error


def render_on_device_path(encoding, genomes):
    return render_with_torch(genomes, outputs=encoding.channels, height=encoding.height,
                             width=encoding.width)


@pytest.mark.numerics
@pytest.mark.parametrize("renderer", [CppnEncoding.render, render_on_device_path],
                         ids=["cpu-kernel", "torch"])
@pytest.mark.parametrize("channels, height, width", [(1, 28, 28), (3, 20, 32)])
def test_batched_render_equals_reference(renderer, channels, height, width):
    """Equal within what float32 rounding allows, derived per pixel, not guessed: the
    renderers sum in different orders and use different sin/exp, and which order
    a processor's kernels use (MKL's code path) is not ours to choose."""
    encoding = CppnEncoding(channels=channels, height=height, width=width)
    genomes = evolved(encoding)
    assert hidden_counts(encoding, genomes).max() >= 3  # the check covers deep networks
    kinds = build_program(genomes, outputs=channels).kind
    assert set(kinds.tolist()) == set(range(FULL + 1))  # ... and nodes of every kind
    images = renderer(encoding, genomes)
    assert images.shape == (64, channels, height, width)
    assert images.min() >= 0 and images.max() <= 1
    largest_bound = 0.0
    for index in range(64):
        record = encoding.to_record(genomes, index)
        reference = render_reference(record, height=height, width=width)
        allowed = 2 * float32_error_bound(record, height=height, width=width)
        difference = (images[index].double() - reference.double()).abs()
        assert bool((difference <= allowed).all()), (
            f"genome {index}: difference {float(difference.max()):.3g} exceeds the float32 "
            f"bound there ({float(allowed.flatten()[difference.argmax()]):.3g})")
        largest_bound = max(largest_bound, float(allowed.max()))
    assert largest_bound < 1e-2  # a bound this loose would let real bugs through


@pytest.mark.numerics
def test_cpu_kernel_images_do_not_depend_on_threads():
    """Work is split by genome and every pixel is summed in one fixed order, so the
    thread count (the machine's core count) changes no bit of any image."""
    encoding = CppnEncoding(channels=3, height=24, width=40)
    program = build_program(evolved(encoding, count=70), outputs=3)
    one = render_on_cpu(program, height=24, width=40, threads=1)
    assert torch.equal(one, render_on_cpu(program, height=24, width=40, threads=3))


@pytest.mark.numerics
def test_drawing_into_a_reused_buffer_changes_no_bit_and_reuses_its_memory():
    """A run draws every generation into one ImageBuffer (fresh pages cost as much as
    drawing): whatever the buffer held before, the images are the same bits."""
    encoding = CppnEncoding(channels=3, height=24, width=40)
    buffer = ImageBuffer()
    larger, smaller = evolved(encoding, count=50), evolved(encoding, count=30, seed=1)
    first = encoding.render(larger, buffer)
    assert torch.equal(first, encoding.render(larger))
    first_memory = first.data_ptr()
    second = encoding.render(smaller, buffer)  # over the first generation's images
    assert second.data_ptr() == first_memory
    assert torch.equal(second, encoding.render(smaller))
    grown = buffer.take(60, (3, 24, 40))  # a larger batch gets new memory
    assert grown.shape == (60, 3, 24, 40) and grown.is_contiguous()


@pytest.mark.numerics
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


def test_crossover_keeps_the_parent_shape_and_takes_only_shared_genes_from_the_mate():
    encoding = CppnEncoding(channels=1, height=8, width=8)
    parents, mates = evolved(encoding, count=32, seed=0), evolved(encoding, count=32, seed=1)
    crossing = torch.arange(32) % 2 == 0
    child = aligned_crossover(parents, mates, crossing, RunRandomness(0))
    for key in ("alive", "connected", "order"):
        assert torch.equal(child[key], parents[key])
    changed = child["weight"] != parents["weight"]
    assert changed.any() and not changed[~crossing].any()
    assert torch.equal(child["weight"][changed], mates["weight"][changed])
    assert bool((parents["connected"] & mates["connected"])[changed].all())
    new_function = child["activation"] != parents["activation"]
    assert bool((parents["alive"] & mates["alive"])[new_function].all())
    assert not new_function[~crossing].any()
