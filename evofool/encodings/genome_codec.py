"""Genome records to bytes and back, for the run store: exact both ways."""

from __future__ import annotations

import io
import json
import zlib
from typing import Any

import numpy as np

_ARRAY, _JSON = b"A", b"J"


def record_to_bytes(record: Any) -> bytes:
    """Direct genomes (arrays) as compressed ``.npy``; CPPN records as JSON."""
    if isinstance(record, np.ndarray):
        buffer = io.BytesIO()
        np.save(buffer, record, allow_pickle=False)
        return _ARRAY + zlib.compress(buffer.getvalue(), 1)
    return _JSON + json.dumps(record, separators=(",", ":")).encode()


def record_from_bytes(payload: bytes) -> Any:
    kind, body = payload[:1], payload[1:]
    if kind == _ARRAY:
        return np.load(io.BytesIO(zlib.decompress(body)), allow_pickle=False)
    if kind == _JSON:
        return json.loads(body)
    raise ValueError("unknown genome payload")
