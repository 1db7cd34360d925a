"""Where a trained model may be written: checked before any training, so a mistaken
``--out`` costs a line instead of a run, an experiment's round model or a device.

A model file goes to a new path, or replaces an evofool model file when the caller says
``overwrite``; never a directory, a device, a FIFO or a file in a run or an n+1
experiment (their stores and round models are theirs alone).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from evofool.errors import EvofoolError, ModelLoadError
from evofool.models.checkpoint import read_checkpoint_payload
from evofool.store import is_run_dir
from evofool.store.retrain_layout import is_retrain_dir


def checked_model_path(out: Path | str, *, overwrite: bool = False) -> Path:
    """``out`` as an absolute path a new checkpoint may be written to.

    Raises:
        EvofoolError: ``out`` names no file, lies in a run or an experiment, is not a
            regular file, or exists without ``overwrite`` (or is no evofool model).
    """
    if str(out).strip() == "":
        raise EvofoolError("--out is empty; name the model file to write (e.g. model.pt)")
    path = Path(os.path.abspath(out))
    if path.name in ("", ".", "..") or str(out).endswith(os.sep):
        raise EvofoolError(f"--out {out} names a directory; name the model file to write "
                           "(e.g. model.pt)")
    for folder in list(path.parents)[:3]:  # RUN/x.pt, EXP/models/round-01.pt, EXP/runs/..
        if is_run_dir(folder) or is_retrain_dir(folder):
            raise EvofoolError(f"--out {out} lies inside the run or experiment {folder}, "
                               "whose files only it writes; choose a path outside it")
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return path
    except OSError as error:
        raise EvofoolError(f"--out {out}: {error.strerror or error}") from error
    if stat.S_ISDIR(mode):
        raise EvofoolError(f"--out {out} is a directory; name the model file to write")
    if not stat.S_ISREG(mode):
        raise EvofoolError(f"--out {out} is not a regular file (a device, FIFO or link); "
                           "nothing was written")
    if not overwrite:
        raise EvofoolError(f"--out {out} exists; pass --overwrite to replace an evofool "
                           "model file")
    try:
        read_checkpoint_payload(path)
    except ModelLoadError:
        raise EvofoolError(f"--out {out} is not an evofool model file; --overwrite replaces "
                           "only those") from None
    return path

