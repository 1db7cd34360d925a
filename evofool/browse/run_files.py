"""What the browser reads from a run directory besides its store: the files its pages link
(RUN_FILES, each served with one fixed type), the results `evofool transfer`, `ood` and
`defend` left there, detector verdicts from summary.json, and an n+1 experiment's table.
Every file here may have been crafted: one that does not read as expected is shown as
nothing (or a 4xx that says why), never a 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response

from evofool.archive.confidence import FOOLED_KEY
from evofool.browse.catalog import CatalogEntry, describe
from evofool.browse.untrusted import read_json
from evofool.errors import EvofoolError, printable
from evofool.n_plus_one.store import RetrainStore
from evofool.store.layout import SUMMARY_FILE

NO_STORE = {"Cache-Control": "no-store"}
UNREADABLE = 422  # a run that is there but cannot be read: the request was fine
REPORTS = ("transfer", "ood", "defend")  # what those commands write into RUN/NAME/
# The files of a run directory the pages link or offer, and the only types they are served
# as: whatever else a run directory someone sent holds (evil.html, evil.svg) is a 404.
RUN_FILES = {"config.yaml": "text/plain; charset=utf-8", "summary.json": "application/json",
             "metrics.csv": "text/csv; charset=utf-8",
             **{f"{name}/{name}.png": "image/png" for name in REPORTS},
             **{f"{name}/{name}.json": "application/json" for name in REPORTS},
             **{f"{name}/{name}.csv": "text/csv; charset=utf-8" for name in REPORTS}}


def serve_run_file(entry: CatalogEntry, name: str) -> Response:
    """One of RUN_FILES, as its fixed type; images inline (the pages show them), the rest as
    downloads. Anything else, or one that resolves outside the run, is a 404."""
    root = entry.path.resolve()
    try:
        target = (root / name).resolve()
        found = name in RUN_FILES and target.is_relative_to(root) and target.is_file()
    except (OSError, ValueError):  # a name too long, a NUL byte
        found = False
    if not found:
        raise HTTPException(404, "no such file in this run")
    media_type = RUN_FILES[name]
    disposition = "inline" if media_type == "image/png" else \
        f'attachment; filename="{entry.slug.encode("ascii", "replace").decode()}-' \
        f'{name.replace("/", "-")}"'
    return FileResponse(target, media_type=media_type,
                        headers={**NO_STORE, "Content-Disposition": disposition})


def unreadable_run(entry: CatalogEntry, error: EvofoolError) -> HTTPException:
    """The answer for a run whose store cannot be opened: 422, naming the run and why."""
    return HTTPException(UNREADABLE, f"cannot read {printable(str(entry.path))}: "
                                     f"{printable(str(error))}")


def run_url(entry: CatalogEntry) -> str:
    """The run's page address; its slug may hold characters a URL must escape."""
    return f"/runs/{quote(entry.slug)}"


def retrain_json(entry: CatalogEntry) -> dict[str, Any]:
    try:
        store = RetrainStore(entry.path, read_only=True)
    except EvofoolError as error:
        raise unreadable_run(entry, error) from error
    try:
        trainings = store.trainings()
        rounds = [{**record.as_row(),
                   "train_seconds": trainings.get(record.round, {}).get("seconds"),
                   "run": f"{entry.slug}.round-{record.round:02d}"}
                  for record in store.rounds()]
        classes = len(store.get_meta("class_names") or [])
    finally:
        store.close()
    return {**describe(entry), "rounds": rounds, "classes": classes}


def detector_verdicts(entry: CatalogEntry
                       ) -> tuple[int | None, dict[tuple[int, int], dict[str, Any]]]:
    """For a run that evolved past a detector (evaluator.detector), from summary.json: how
    many classes' champions are >= 0.99 and pass, and each final champion's detector
    score and whether it passes, keyed by (class, genome id) so that a champion replaced
    since (a resumed run) gets none. (None, {}) for other runs."""
    summary = read_json(entry.path / SUMMARY_FILE)
    if not isinstance(summary, dict) or "detector" not in summary:
        return None, {}
    try:  # a summary.json someone edited or crafted: shown as no verdicts, never a 500
        return summary[f"{FOOLED_KEY}_passing_detector"], {
            (item["class"], item["genome_id"]): {
                "passes_detector": item["passes_detector"],
                "detector_score": item["detector_score"],
                "detector": summary["detector"]["type"]}
            for item in summary["classes"]}
    except (KeyError, TypeError, IndexError):
        return None, {}


def result_json(entry: CatalogEntry, name: str) -> dict[str, Any] | None:
    """What `evofool transfer`, `ood` or `defend` (``name``) wrote to its default place in
    the run directory, NAME/NAME.json, with its NAME.png figure's address; None if none."""
    result = read_json(entry.path / name / f"{name}.json")
    if not isinstance(result, dict):  # not what the command writes: not shown
        return None
    return {**result, "heatmap": f"{run_url(entry)}/files/{name}/{name}.png"}


def check_in_play(entry: CatalogEntry, row: dict[str, Any], class_index: int) -> None:
    """404 for a class the run does not evolve for (one outside ``algorithm.classes``, say);
    for a run that cannot be read, why not."""
    if "error" in row:
        raise HTTPException(404 if entry.kind == "missing" else UNREADABLE,
                            f"cannot read this run: {row['error']}")
    if class_index not in (row.get("classes_in_play") or []):
        known = row.get("model_classes") or 0
        reason = "not a class of this model" if not 0 <= class_index < known else \
            f"not one of the {row.get('classes')} classes this run evolves for"
        raise HTTPException(404, f"{entry.slug}: class {class_index} is {reason}")
