"""Reading ``.pt`` files that someone else may have written: tensors and numbers only.

A ``.pt`` file is a pickle, and a pickle can run code as it loads. Image sets,
exports and models come from other people, so they are loaded with
``weights_only=True``, which refuses anything but tensors, numbers, strings and
containers of them. torch's own message for a refused file then advises loading
it again unsafely; this says what happened instead, in one line.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import torch

from evofool.errors import EvofoolError, first_line


def load_tensor_file(path: Path, what: str) -> Any:
    """The data in ``path`` (``what`` it should be, for messages), on the CPU.

    Raises:
        EvofoolError: the file is missing or unreadable, or holds more than plain data
            (pickled objects, which would run code); nothing in it ran.
    """
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise EvofoolError(f"{path}: refused: it holds Python objects beyond tensors and "
                           f"numbers (a pickle can run code; evofool loads none), not "
                           f"{what}") from error
    except OSError as error:
        raise EvofoolError(f"cannot read {path}: {error.strerror or first_line(error)}"
                           ) from error
    except Exception as error:  # a truncated or foreign file fails in many ways
        raise EvofoolError(f"{path}: not {what} ({type(error).__name__}: "
                           f"{first_line(error)[:160]})") from error
