"""Which runs the browser shows: discovered afresh on every request, so new runs appear."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from evofool.archive.confidence import FOOLED_KEY, classes_fooled, median_confidence
from evofool.browse.untrusted import DAMAGED
from evofool.errors import EvofoolError, printable
from evofool.n_plus_one.store import RetrainStore
from evofool.run.metrics import latest_row
from evofool.store import RunStore, StoreError, is_run_dir
from evofool.store.layout import METRICS_FILE
from evofool.store.retrain_layout import RETRAIN_STORE_FILE, is_retrain_dir, round_runs
from evofool.store.writer_lock import LOCK_FILE, writer_alive

STALLED_AFTER_SECONDS = 300  # a "running" run whose metrics have not moved for this long
INTEGRITY_CHECK_BYTES = 512 * 1024**2  # quick_check reads every page: ~1 s per 500 MB


@dataclass(frozen=True)
class CatalogEntry:
    """A run or retrain experiment the browser can show, under a URL-safe ``slug``."""

    slug: str
    path: Path
    kind: Literal["run", "retrain", "missing"]
    parent: str | None = None  # the experiment a round's run belongs to


class RunCatalog:
    """Runs under the directories given on the command line.

    Each root may be a run, a retrain experiment (its rounds' runs come along)
    or a directory of them (searched one level deep). A root that does not
    exist is listed as missing rather than failing the whole page.
    """

    def __init__(self, roots: list[Path]) -> None:
        self.roots = [Path(root) for root in roots]

    def entries(self) -> list[CatalogEntry]:
        found: list[tuple[Path, str, str | None]] = []
        for root in self.roots:
            if not root.exists():
                found.append((root, "missing", None))
            elif is_run_dir(root) or is_retrain_dir(root):
                found += _with_rounds(root)
            elif root.is_dir():
                for child in sorted(root.iterdir()):
                    if child.is_dir() and (is_run_dir(child) or is_retrain_dir(child)):
                        found += _with_rounds(child)
        entries, used = [], set()
        for path, kind, parent in found:
            name = _slug_part(path.name)
            base = name if parent is None else f"{_slug_part(parent)}.{name}"
            slug, suffix = base, 2
            while slug in used:
                slug, suffix = f"{base}-{suffix}", suffix + 1
            used.add(slug)
            entries.append(CatalogEntry(slug=slug, path=path, kind=kind,  # type: ignore[arg-type]
                                        parent=parent))
        return entries

    def find(self, slug: str) -> CatalogEntry | None:
        return next((entry for entry in self.entries() if entry.slug == slug), None)


def _with_rounds(path: Path) -> list[tuple[Path, str, str | None]]:
    if not is_retrain_dir(path):
        return [(path, "run", None)]
    return [(path, "retrain", None), *((run, "run", path.name) for _, run in round_runs(path))]


def describe(entry: CatalogEntry) -> dict[str, Any]:
    """The index page's row for ``entry``; a broken directory gives a row with ``error``."""
    row: dict[str, Any] = {"slug": entry.slug, "kind": entry.kind,
                           "name": printable(entry.path.name),
                           "path": printable(str(entry.path)),
                           "parent": None if entry.parent is None else printable(entry.parent)}
    try:
        if entry.kind == "missing":
            raise EvofoolError(f"{entry.path} does not exist")
        row.update(_describe_retrain(entry.path) if entry.kind == "retrain"
                   else _describe_run(entry.path))
    except EvofoolError as error:
        row["error"] = printable(str(error))
    except DAMAGED as error:  # a crafted metrics.csv or store value: this run, not the list
        row["error"] = f"a file in it is damaged ({type(error).__name__})"
    return row


def _slug_part(name: str) -> str:
    """A directory name as part of a URL: bytes that are not UTF-8 become U+FFFD (a
    backslash, as ``printable`` writes them, reads as '/' in a URL)."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _describe_run(path: Path) -> dict[str, Any]:
    store = RunStore(path, read_only=True)
    try:
        _check_once_at_rest(store)
        in_play = store.classes_in_play()
        wanted = set(in_play)
        champions = [c.confidence for c in store.champions() if c.class_index in wanted]
        config = store.get_meta("config") or {}
        status = store.get_meta("status")
        progress = latest_row(path) or {}
        return {"model": store.get_meta("model"),
                "encoding": (config.get("encoding") or {}).get("type"),
                "algorithm": (config.get("algorithm") or {}).get("type"),
                "status": _live_status(status, path / METRICS_FILE),
                "started": store.get_meta("created"),
                "generations": int(progress["generation"]) if progress else None,
                "evaluations": int(progress["evaluations"]) if progress else None,
                "wall_seconds": float(progress["wall_seconds"]) if progress else None,
                # the run's own count (metrics.csv: a champion a detector flags counts 0),
                # else the store's champions (a run before its first generation's row)
                "median_confidence": float(progress["median"]) if progress
                else median_confidence(champions),
                FOOLED_KEY: int(progress[FOOLED_KEY]) if progress else classes_fooled(champions),
                # a run restricted to some classes (algorithm.classes / targets) is about those
                "classes": len(in_play), "classes_in_play": in_play,
                "model_classes": len(store.get_meta("class_names") or [])}
    finally:
        store.close()


def _describe_retrain(path: Path) -> dict[str, Any]:
    store = RetrainStore(path, read_only=True)
    try:
        rounds = store.rounds()
        config = store.get_meta("config") or {}
        last = rounds[-1] if rounds else None
        return {"model": config.get("model"), "encoding": "n+1 experiment",
                "status": _live_status(store.get_meta("status"), path / RETRAIN_STORE_FILE),
                "generations": None, "rounds_done": len(rounds),
                "rounds": config.get("rounds"),
                "median_confidence": last.median_confidence if last else None,
                FOOLED_KEY: last.as_row()[FOOLED_KEY] if last else None,
                "classes": len(store.get_meta("class_names") or [])}
    finally:
        store.close()


def _check_once_at_rest(store: RunStore) -> None:
    """A store no writer holds is checked for damage once per version of its file (a
    finished run's never changes), so that a run whose pages hold garbage is listed as
    unreadable, not as finished. Live runs and stores over INTEGRITY_CHECK_BYTES are
    not checked here; a damaged page still shows as an error where it is read.

    Raises:
        StoreError: the store is damaged.
    """
    stat = store.path.stat()
    if stat.st_size <= INTEGRITY_CHECK_BYTES and not writer_alive(store.path.parent):
        problem = _damage_of(store.path, stat.st_size, stat.st_mtime_ns)
        if problem is not None:
            raise StoreError(problem)


@functools.lru_cache(maxsize=4096)
def _damage_of(path: Path, size: int, mtime_ns: int) -> str | None:
    """What is damaged in the store at ``path`` as it was at (size, mtime), or None."""
    store = RunStore(path.parent, read_only=True)
    try:
        store.check_integrity()
    except StoreError as error:
        return str(error)
    finally:
        store.close()
    return None


def _live_status(status: str | None, heartbeat: Path) -> str:
    """``running`` only while a writer holds the run; a killed run's store still says
    running. Runs from before writer locks: ``stalled`` once their heartbeat is old."""
    if status != "running":
        return status or "unknown"
    directory = heartbeat.parent
    if (directory / LOCK_FILE).exists():
        return "running" if writer_alive(directory) else "interrupted"
    if heartbeat.exists() and time.time() - heartbeat.stat().st_mtime > STALLED_AFTER_SECONDS:
        return "stalled"
    return status

