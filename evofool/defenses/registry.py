"""The input defences a config or ``evofool defend`` can name; a new one is one line here."""

from __future__ import annotations

from evofool.defenses.bit_depth import BitDepth, BitDepthSettings
from evofool.defenses.grayscale import Grayscale, GrayscaleSettings
from evofool.defenses.jpeg import Jpeg, JpegSettings
from evofool.defenses.median import Median, MedianSettings
from evofool.defenses.noise_average import NoiseAverage, NoiseAverageSettings
from evofool.defenses.ten_crop import TenCrop, TenCropSettings
from evofool.settings import Registry

DEFENSES = Registry("defence")
DEFENSES.register(NoiseAverageSettings, NoiseAverage)
DEFENSES.register(JpegSettings, Jpeg)
DEFENSES.register(BitDepthSettings, BitDepth)
DEFENSES.register(MedianSettings, Median)
DEFENSES.register(GrayscaleSettings, Grayscale)
DEFENSES.register(TenCropSettings, TenCrop)
