"""The archive browser: a read-only local web app over run directories.

Pages are server-rendered HTML (Jinja2) that fetch JSON from ``/api`` and poll it
while a run is live; no front-end build step. Endpoints are plain functions, run in
Starlette's thread pool (SQLite and rendering block). Images are rendered from the
stored genomes on request (cached: a genome never changes). Nothing here writes. Of a
run directory's files only those the pages link are served (evofool.browse.run_files);
every response goes through evofool.browse.guard (Host check, CSP, nosniff). A run
that cannot be read is a 4xx answer that says why, never a 500.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from evofool.analysis.figure_style import to_png
from evofool.analysis.plots import (
    class_history,
    confidence_curves,
    read_metrics,
    rounds_figure,
)
from evofool.archive.confidence import fooled_keys
from evofool.browse.catalog import CatalogEntry, RunCatalog, describe
from evofool.browse.guard import BrowserGuard
from evofool.browse.run_files import (
    NO_STORE,
    UNREADABLE,
    check_in_play,
    detector_verdicts,
    result_json,
    retrain_json,
    run_url,
    serve_run_file,
    unreadable_run,
)
from evofool.browse.untrusted import DAMAGED, SafeJSONResponse
from evofool.encodings.genome_codec import record_to_json
from evofool.errors import EvofoolError, printable, quoted
from evofool.files.images import png_bytes
from evofool.run.stored import StoredRun

HERE = Path(__file__).parent
IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
TOP_NAMES = 5


def create_app(roots: list[Path], hosts: tuple[str, ...] = ()) -> BrowserGuard:
    """The browser over the runs under ``roots`` (see :class:`RunCatalog`), answering for
    localhost and ``hosts`` (the address it is bound to, names it is reached by)."""
    catalog = RunCatalog(roots)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals["fooled"] = fooled_keys()  # read by the pages' script (browse.js)

    def entry_for(request: Request, kind: str | None = None) -> CatalogEntry:
        """The catalogued run a request names; 404 for anything else (ids in paths are
        bounded by their convertor, evofool.browse.untrusted.BoundedId)."""
        entry = catalog.find(request.path_params["slug"])
        if entry is None or (kind is not None and entry.kind != kind):
            raise HTTPException(404, f"no run called {quoted(request.path_params['slug'])} "
                                     "here")
        return entry

    def open_run(entry: CatalogEntry) -> StoredRun:
        try:
            return StoredRun(entry.path, label=entry.slug)
        except EvofoolError as error:
            raise unreadable_run(entry, error) from error

    def index(request: Request) -> Response:
        roots = [printable(str(root)) for root in catalog.roots]
        return templates.TemplateResponse(request, "index.html", {"roots": roots})

    def api_runs(request: Request) -> Response:
        return SafeJSONResponse([describe(entry) for entry in catalog.entries()], headers=NO_STORE)

    def run_page(request: Request) -> Response:
        entry = entry_for(request)
        row = describe(entry)
        page = "retrain.html" if entry.kind == "retrain" else "run.html"
        status = 200 if "error" not in row else 404 if entry.kind == "missing" else UNREADABLE
        return templates.TemplateResponse(request, page, {"run": row}, status_code=status)

    def api_run(request: Request) -> Response:
        entry = entry_for(request)
        if entry.kind == "retrain":
            return SafeJSONResponse(retrain_json(entry), headers=NO_STORE)
        row = describe(entry)
        if "error" in row:  # listed as unreadable: say the same here
            raise HTTPException(404 if entry.kind == "missing" else UNREADABLE,
                                f"cannot read this run: {row['error']}")
        run = open_run(entry)
        try:
            in_play = set(row.get("classes_in_play") or [])
            passing, detector = detector_verdicts(entry)
            champions = [{"class": c.class_index, "name": run.class_names[c.class_index],
                          "confidence": c.confidence, "generation": c.generation,
                          "genome_id": c.genome_id,
                          "image": f"{run_url(entry)}/genomes/{c.genome_id}.png",
                          **detector.get((c.class_index, c.genome_id), {})}
                         for c in run.champions() if c.class_index in in_play]
        finally:
            run.close()
        return SafeJSONResponse({**row, "champions": champions, "passing_detector": passing,
                             "transfer": result_json(entry, "transfer"),
                             "ood": result_json(entry, "ood"),
                             "defend": result_json(entry, "defend")}, headers=NO_STORE)

    def champion_page(request: Request) -> Response:
        entry = entry_for(request, "run")
        row, class_index = describe(entry), request.path_params["class_index"]
        check_in_play(entry, row, class_index)
        return templates.TemplateResponse(request, "champion.html",
                                          {"run": row, "class_index": class_index})

    def api_champion(request: Request) -> Response:
        entry = entry_for(request, "run")
        class_index = request.path_params["class_index"]
        check_in_play(entry, describe(entry), class_index)
        run = open_run(entry)
        try:
            champion = next((c for c in run.store.champions() if c.class_index == class_index),
                            None)
            if champion is None:
                raise HTTPException(404, f"class {class_index} has no champion yet")
            names = run.class_names
            history = run.store.history(class_index)
            lineage = run.store.lineage(champion.genome_id)
        finally:
            run.close()
        genome = champion.genome_id
        return SafeJSONResponse({
            "run": entry.slug, "class": class_index, "name": names[class_index],
            "confidence": champion.confidence, "generation": champion.generation,
            "genome_id": genome, "parent_id": champion.parent_id,
            "image": f"{run_url(entry)}/genomes/{genome}.png",
            "genome_download": f"{run_url(entry)}/genomes/{genome}/genome",
            "history_plot": f"{run_url(entry)}/plots/class-{class_index}.png",
            "top_k": [{"class": c, "name": names[c], "probability": p}
                      for c, p in champion.top_k[:TOP_NAMES]],
            "history": [{"class": h.class_index, "genome_id": h.genome_id,
                         "parent_id": h.parent_id, "generation": h.generation,
                         "confidence": h.confidence, "evaluations": h.evaluations,
                         "image_kept": h.image_kept} for h in history],
            "lineage": [{**link, "image": f"{run_url(entry)}/genomes/{link['genome_id']}.png"
                         if link["image_kept"] else None} for link in lineage],
        }, headers=NO_STORE)

    @functools.lru_cache(maxsize=4096)
    def genome_png(path: Path, genome_id: int) -> bytes:
        run = StoredRun(path)
        try:
            return png_bytes(run.render([genome_id])[0])
        finally:
            run.close()

    def genome_image(request: Request) -> Response:
        entry = entry_for(request, "run")
        try:
            data = genome_png(entry.path, request.path_params["genome_id"])
        except EvofoolError as error:
            raise HTTPException(404, str(error)) from error
        return Response(data, media_type="image/png", headers=IMMUTABLE)

    def genome_download(request: Request) -> Response:
        entry = entry_for(request, "run")
        genome_id = request.path_params["genome_id"]
        run = open_run(entry)
        try:
            stored = run.store.genome(genome_id)
        finally:
            run.close()
        if stored is None:
            raise HTTPException(404, f"no genome {genome_id} in {entry.slug}")
        body = record_to_json(stored[1])
        name = f"{entry.slug}-genome-{genome_id}.json"
        return Response(body, media_type="application/json",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    def confidence_plot(request: Request) -> Response:
        entry = entry_for(request, "run")
        classes = describe(entry).get("classes") or 1
        return _png(confidence_curves(read_metrics(entry.path), classes))

    def class_plot(request: Request) -> Response:
        entry = entry_for(request, "run")
        class_index = request.path_params["class_index"]
        check_in_play(entry, describe(entry), class_index)
        run = open_run(entry)
        try:
            history = run.store.history(class_index)
            name = run.class_names[class_index]
        finally:
            run.close()
        return _png(class_history([h.generation for h in history],
                                  [h.confidence for h in history], name))

    def rounds_plot(request: Request) -> Response:
        data = retrain_json(entry_for(request, "retrain"))
        return _png(rounds_figure(data["rounds"], data["classes"]))

    def run_file(request: Request) -> Response:
        return serve_run_file(entry_for(request), request.path_params["path"])

    async def unreadable(request: Request, error: Exception) -> Response:
        """A run whose files cannot be read (a damaged store, a crafted file: text in a
        number's place, NaN where JSON was): said, not a traceback."""
        why = printable(str(error)) if isinstance(error, EvofoolError) else \
            f"a file in it is damaged ({type(error).__name__})"
        return await not_found(request, HTTPException(UNREADABLE, f"cannot read this run: {why}"))

    async def not_found(request: Request, error: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or "." in request.url.path.rsplit("/", 1)[-1]:
            return SafeJSONResponse({"error": error.detail}, status_code=error.status_code)
        return templates.TemplateResponse(request, "error.html", {"message": error.detail},
                                          status_code=error.status_code)

    return BrowserGuard(Starlette(routes=[
        Route("/", index),
        Route("/api/runs", api_runs),
        Route("/api/runs/{slug}", api_run),
        Route("/api/runs/{slug}/classes/{class_index:id}", api_champion),
        Route("/runs/{slug}", run_page),
        Route("/runs/{slug}/classes/{class_index:id}", champion_page),
        Route("/runs/{slug}/genomes/{genome_id:id}.png", genome_image),
        Route("/runs/{slug}/genomes/{genome_id:id}/genome", genome_download),
        Route("/runs/{slug}/plots/confidence.png", confidence_plot),
        Route("/runs/{slug}/plots/class-{class_index:id}.png", class_plot),
        Route("/runs/{slug}/plots/rounds.png", rounds_plot),
        Route("/runs/{slug}/files/{path:path}", run_file),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ], exception_handlers={HTTPException: not_found,
                           **dict.fromkeys((EvofoolError, *DAMAGED), unreadable)}), hosts)


def _png(figure: Any) -> Response:
    return Response(to_png(figure), media_type="image/png", headers=NO_STORE)


