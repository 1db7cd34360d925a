"""The CPPN encoding (paper section 2.2): small evolving networks drawn as images."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from evofool.encodings.cppn import crossover, mutation, records
from evofool.encodings.cppn.layout import capacity
from evofool.encodings.cppn.mutation import CppnMutationRates
from evofool.encodings.cppn.render import render_population
from evofool.encodings.cppn.weight_gradient import pooled_gradient, weight_gradients
from evofool.encodings.genome_batch import GenomeBatch
from evofool.encodings.image_buffer import ImageBuffer
from evofool.encodings.protocol import RecordFormat
from evofool.errors import ConfigError
from evofool.randomness import RunRandomness
from evofool.settings import ComponentSettings, positive, probability


@dataclass(frozen=True)
class CppnEncoding:
    """Compositional pattern-producing networks over (x, y, d, bias).

    One output draws a grayscale image; three draw RGB directly (the original
    code converted HLS to RGB; reading the outputs as RGB keeps colours as
    easy to reach and costs no conversion). A pixel is |output| clipped to 1.

    Attributes:
        channels, height, width: the rendered image; any resolution.
        max_hidden: hidden-node capacity per genome; an add-node mutation on
            a full genome does nothing.
        weight_bound: weights live in [-weight_bound, weight_bound]. The
            faithful preset uses 3; we default to 10. With |w| <= 3 over inputs
            in [-1, 1], sigmoid and linear nodes barely saturate and sine
            stripes stay broad, and evolution presses against the bound
            (4-6.5% of champion weights within 5% of it on MNIST, against
            1-2% at 10; benchmarks/reproduce_mnist.py reports it). With eta
            30, over 20 seeds all ten digits reach 0.999 within 50 generations
            in 20 (faithful: 9) and 0.9999 within 500 in 18 (faithful: 17);
            see BENCHMARKS.md.
        eta: polynomial-mutation index for weights. The faithful preset uses the
            original 15 over [-3, 3]; over the wider [-10, 10] we default to 30,
            which keeps absolute weight steps closer to the original's (a step
            scales with the range and roughly with 1 / (eta + 1)).
        rates: per-child edit probabilities (the original code's by default).
        crossover: probability that a child is first crossed with a mate
            (``crossover.aligned_crossover``); 0, the paper's choice, evolves
            CPPNs by mutation alone.
    """

    channels: int
    height: int
    width: int
    max_hidden: int = 32
    weight_bound: float = 10.0
    eta: float = 30.0
    rates: CppnMutationRates = field(default_factory=CppnMutationRates)
    crossover: float = 0.0

    @classmethod
    def from_settings(cls, settings: CppnSettings,
                      image_shape: tuple[int, int, int]) -> CppnEncoding:
        channels, height, width = image_shape
        rates = CppnMutationRates(
            add_connection=settings.add_connection, delete_connection=settings.delete_connection,
            add_node=settings.add_node, delete_node=settings.delete_node,
            weight=settings.weight_rate, activation=settings.activation_rate)
        return cls(channels=channels, height=height, width=width,
                   max_hidden=settings.max_hidden, weight_bound=settings.weight_bound,
                   eta=settings.eta, rates=rates, crossover=settings.crossover)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    @property
    def slots(self) -> int:
        return capacity(self.channels, self.max_hidden)

    @property
    def genome_bytes(self) -> int:
        # connected (bool) and weight (float32) are slots x slots; see layout
        return 5 * self.slots * self.slots + 6 * self.slots

    @property
    def uses_mates(self) -> bool:
        return self.crossover > 0  # the paper's CPPNs evolve without (section 2.2)

    @property
    def record_format(self) -> RecordFormat:
        return "json"

    def random(self, count: int, rng: RunRandomness) -> GenomeBatch:
        return mutation.random_genomes(count, outputs=self.channels, max_hidden=self.max_hidden,
                                       weight_bound=self.weight_bound, rng=rng)

    def offspring(self, parents: GenomeBatch, mates: GenomeBatch | None, rng: RunRandomness,
                  generation: int, strength: torch.Tensor | None = None) -> GenomeBatch:
        """Mutated copies of ``parents``, some first crossed with ``mates``; a child's
        ``strength`` divides its weights' eta (larger: bigger steps)."""
        if self.crossover > 0:
            crossing = rng.uniform(parents["alive"].shape[0]) < self.crossover
            parents = crossover.aligned_crossover(parents, mates, crossing, rng)
        eta = self.eta if strength is None else self.eta / strength
        return mutation.mutate(parents, outputs=self.channels, rates=self.rates,
                               weight_bound=self.weight_bound, eta=eta, rng=rng)

    def weights(self, genome: GenomeBatch) -> torch.Tensor:
        """(W,) a one-genome batch's connection weights in slot order: the continuous
        part of a CPPN, what a CMA-ES searches over with the topology held fixed."""
        return genome["weight"][0][genome["connected"][0]]

    def with_weights(self, genome: GenomeBatch, weights: torch.Tensor) -> GenomeBatch:
        """N copies of a one-genome batch, the i-th with ``weights[i]`` (N, W) as its
        connection weights, clipped to the weight bound."""
        count = weights.shape[0]
        children = {key: value.expand(count, *value.shape[1:]).clone()
                    for key, value in genome.items()}
        children["weight"][children["connected"]] = weights.clamp(
            -self.weight_bound, self.weight_bound).to(children["weight"].dtype).flatten()
        return children

    def gradient_direction(self, genomes: GenomeBatch, pixel_gradients: torch.Tensor, *,
                           resolution: int | None) -> GenomeBatch:
        """``{"weight": (P, S, S)}``: the gradient of each genome's image against
        ``pixel_gradients`` with respect to its connection weights, the backward pass drawn
        at ``resolution`` x ``resolution`` (None: the images' own size)."""
        pooled = pooled_gradient(pixel_gradients, resolution)
        return {"weight": weight_gradients(genomes, pooled, outputs=self.channels)}

    def stepped(self, genomes: GenomeBatch, direction: GenomeBatch,
                lengths: torch.Tensor) -> GenomeBatch:
        """``genomes`` with their weights moved ``lengths`` (P,) along ``direction``,
        clipped to the weight bound; the topology as it was."""
        weight = genomes["weight"] + lengths.view(-1, 1, 1) * direction["weight"]
        weight = weight.clamp(-self.weight_bound, self.weight_bound)
        return {**genomes, "weight": torch.where(genomes["connected"], weight, 0.0)}

    def render(self, genomes: GenomeBatch, buffer: ImageBuffer | None = None) -> torch.Tensor:
        return render_population(genomes, outputs=self.channels, height=self.height,
                                 width=self.width, buffer=buffer)

    def to_record(self, genomes: GenomeBatch, index: int) -> dict[str, Any]:
        return records.to_record(genomes, index, outputs=self.channels)

    def from_record(self, record: Any) -> GenomeBatch:
        return records.from_record(record, outputs=self.channels, slots=self.slots)


MAX_WEIGHT_BOUND = 100.0


@dataclass(frozen=True)
class CppnSettings(ComponentSettings):
    """``encoding: {type: cppn, ...}``; see CppnEncoding and CppnMutationRates (the six
    keys from add_connection to activation_rate are its per-child edit probabilities)."""

    type: Literal["cppn"] = "cppn"
    height: int | None = positive()  # None: the model's input size
    width: int | None = positive()  # None: the model's input size
    max_hidden: int = positive(CppnEncoding.max_hidden)  # hidden-node capacity of a genome
    # weights live in [-weight_bound, weight_bound] (3.0 in the faithful preset)
    weight_bound: float = positive(CppnEncoding.weight_bound)
    # polynomial-mutation index for weights: larger, smaller steps (15.0 in the faithful preset)
    eta: float = positive(CppnEncoding.eta)
    add_connection: float = probability(CppnMutationRates.add_connection)  # per child
    delete_connection: float = probability(CppnMutationRates.delete_connection)  # per child
    add_node: float = probability(CppnMutationRates.add_node)  # per child: splits a connection
    delete_node: float = probability(CppnMutationRates.delete_node)  # per child
    weight_rate: float = probability(CppnMutationRates.weight)  # per connection: a weight mutates
    activation_rate: float = probability(CppnMutationRates.activation)  # per node: a new function
    crossover: float = probability(0.0)  # share of children first crossed with a mate (paper: 0)

    def check(self, config: Any) -> None:
        # The CPU renderer's sin is exact to an ulp or so while |z| <= 1e4 (float32_math);
        # a node sums at most a few dozen inputs of |value| <= sqrt(2), so 100 keeps z there.
        if self.weight_bound > MAX_WEIGHT_BOUND:
            raise ConfigError(f"encoding.weight_bound must be at most {MAX_WEIGHT_BOUND:g}, "
                              f"got {self.weight_bound:g}")
