"""Encodings: genomes and how they become pixels; nothing about models."""

from evofool.encodings.cppn import CppnEncoding, CppnMutationRates
from evofool.encodings.direct import DirectEncoding
from evofool.encodings.from_settings import encoding_for_shape
from evofool.encodings.protocol import Encoding

__all__ = ["CppnEncoding", "CppnMutationRates", "DirectEncoding", "Encoding",
           "encoding_for_shape"]
