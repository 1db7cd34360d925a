"""The encodings a config can name (``encoding.type``); a new one is one line here."""

from __future__ import annotations

from evofool.encodings.cppn.encoding import CppnEncoding, CppnSettings
from evofool.encodings.direct import DirectEncoding, DirectSettings
from evofool.encodings.protocol import Encoding
from evofool.settings import Registry

ENCODINGS = Registry("encoding")
ENCODINGS.register(DirectSettings, DirectEncoding.from_settings)
ENCODINGS.register(CppnSettings, CppnEncoding.from_settings)


def encoding_for_shape(settings, image_shape: tuple[int, int, int]) -> Encoding:
    """The encoding ``settings`` (any registered encoding's) describe, drawing (C, H, W)
    images. Building a run and reading a stored run back both come through here."""
    return ENCODINGS[settings.type].build(settings, image_shape)
