"""Genome records to bytes and back, for the run store: exact both ways, or 8-bit for
replaced direct genomes the store keeps as images only (evofool.store.history)."""

from __future__ import annotations

import io
import json
import zlib
from typing import Any

import numpy as np

_ARRAY, _JSON, _ARRAY_8BIT = b"A", b"J", b"U"


def record_to_bytes(record: Any, record_format: str) -> bytes:
    """An encoding's record as its ``record_format`` says: arrays as compressed ``.npy``,
    JSON records as JSON. The first byte names the format, so payloads read back alone."""
    if record_format == "array":
        return _ARRAY + _npy(record)
    return _JSON + json.dumps(record, separators=(",", ":")).encode()


def record_to_json(payload: bytes) -> str:
    """A stored payload as JSON text (arrays as nested lists), for downloads."""
    record = record_from_bytes(payload)
    return json.dumps(record.tolist() if payload[:1] in (_ARRAY, _ARRAY_8BIT) else record)


def to_8bit_payload(payload: bytes) -> bytes:
    """An array genome's payload as 8-bit pixels, rounded as ``images.to_uint8`` rounds
    them for PNGs, export and retraining: 4x smaller, not exact. Other payloads as given."""
    if payload[:1] != _ARRAY:
        return payload
    record = record_from_bytes(payload)
    return _ARRAY_8BIT + _npy(np.round(np.clip(record, 0, 1) * 255).astype(np.uint8))


def record_from_bytes(payload: bytes) -> Any:
    kind, body = payload[:1], payload[1:]
    if kind == _ARRAY:
        return np.load(io.BytesIO(zlib.decompress(body)), allow_pickle=False)
    if kind == _ARRAY_8BIT:
        pixels = np.load(io.BytesIO(zlib.decompress(body)), allow_pickle=False)
        return pixels.astype(np.float32) / np.float32(255)
    if kind == _JSON:
        return json.loads(body)
    raise ValueError("unknown genome payload")


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return zlib.compress(buffer.getvalue(), 1)
