"""An encoding from its config section and an image shape: no model, no run needed.

Building a run (evofool.components) and reading a stored run back (export,
transfer, the browser) both come through here, so neither needs the other.
"""

from __future__ import annotations

from evofool.config import CppnSettings, DirectSettings
from evofool.encodings.cppn import CppnEncoding, CppnMutationRates
from evofool.encodings.direct import DirectEncoding
from evofool.encodings.protocol import Encoding


def encoding_for_shape(settings: DirectSettings | CppnSettings,
                       image_shape: tuple[int, int, int]) -> Encoding:
    """The encoding ``settings`` describe, drawing (C, H, W) images."""
    channels, height, width = image_shape
    if isinstance(settings, DirectSettings):
        return DirectEncoding(
            channels=channels, height=height, width=width,
            mutation_rate=settings.mutation_rate,
            halving_generations=settings.halving_generations, eta=settings.eta,
            crossover_rate=settings.crossover_rate, crossover_eta=settings.crossover_eta)
    assert isinstance(settings, CppnSettings)
    rates = CppnMutationRates(
        add_connection=settings.add_connection, delete_connection=settings.delete_connection,
        add_node=settings.add_node, delete_node=settings.delete_node,
        weight=settings.weight_rate, activation=settings.activation_rate)
    return CppnEncoding(channels=channels, height=height, width=width,
                        max_hidden=settings.max_hidden, weight_bound=settings.weight_bound,
                        eta=settings.eta, rates=rates)
