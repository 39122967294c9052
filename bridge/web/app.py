"""The HTTP API (docs/HTTP.md) and the studio page's static files, as one FastAPI app.

Routes that call the engine are plain functions: FastAPI runs them in its thread pool, so a journal
commit never blocks the event loop that feeds the event streams.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from server import __version__
from server.config import Config
from server.engine import Engine
from server.errors import DawgenError, ErrorCode

from ..clients import Clients
from . import errors, paths
from .auth import Guard, Who
from .events import EventHub, job_view
from .library import LibraryIndex
from .studio import studio_facts
from .training import add_training_routes
from .waveform import WaveformCache

STATIC = Path(__file__).parent / "static"
Value = str | int | float | bool | None


class JobRequest(BaseModel):
    verb: str = Field(min_length=1, max_length=64, examples=["generate"])
    params: dict[str, Value] = Field(default_factory=dict, examples=[{"prompt": "punchy kick", "seconds": 1.5}])
    req_id: str = Field("", max_length=128, description="optional: the same id and params again return the same job")


class PriorityChange(BaseModel):
    priority: int = Field(ge=-100, le=100, description="higher runs first; FIFO within a priority")


class Accepted(BaseModel):
    job_id: str
    queue_position: int


def create_app(engine: Engine, config: Config) -> FastAPI:
    roots = [Path(r) for r in engine.writer.roots]
    hub, library, waves = EventHub(engine, roots), LibraryIndex(roots[0]), WaveformCache()
    app = FastAPI(title="dawgen", version=__version__, description="The studio page's JSON API (docs/HTTP.md).")
    app.state.hub, app.state.library = hub, library
    app.add_exception_handler(DawgenError, errors.on_dawgen_error)
    app.add_exception_handler(RequestValidationError, errors.on_validation_error)
    clients = Clients(config, admin_tokens=config.web.tokens)
    app.add_middleware(Guard, clients=clients, host=config.web.host)

    @app.post("/api/jobs", response_model=Accepted, summary="submit a job (any job verb: generate, vary, separate, train...)")
    def submit(body: JobRequest, who: Who) -> dict[str, Any]:
        if not engine.is_job_verb(body.verb):
            raise DawgenError(ErrorCode.UNKNOWN_VERB, f"unknown verb {body.verb!r}; verbs: {', '.join(sorted(engine.job_verbs()))}")
        clients.check_params(who, body.params)
        job, position = engine.submit(clients.request(who, body.verb, dict(body.params), body.req_id, {"http": True}))
        return {"job_id": job.id, "queue_position": position}

    @app.get("/api/jobs/{job_id}", summary="a job's state, progress, files and error")
    def status(job_id: str, who: Who) -> dict[str, Any]:
        job, position = engine.status(job_id)
        clients.check_owner(who, job)
        return job_view(job, roots, position)

    @app.delete("/api/jobs/{job_id}", summary="cancel a queued or running job")
    def cancel(job_id: str, who: Who) -> dict[str, Any]:
        clients.check_owner(who, engine.status(job_id)[0])  # another client's job: forbidden, and left alone
        job = engine.cancel(job_id)
        return {"job_id": job.id, "state": job.state.value}

    @app.patch("/api/jobs/{job_id}", summary="move a queued job to another priority")
    def reprioritise(job_id: str, body: PriorityChange, who: Who) -> dict[str, Any]:
        clients.check_owner(who, engine.status(job_id)[0])
        job, position = engine.set_priority(job_id, clients.priority(who, body.priority))
        return job_view(job, roots, position)

    @app.get("/api/queue", summary="running and queued jobs in run order")
    def queue(who: Who) -> dict[str, Any]:
        jobs = engine.queue()
        return {"jobs": [clients.view(who, j, job_view(j, roots, i)) for i, j in enumerate(jobs)], "total": len(jobs)}

    @app.get("/api/models", summary="every model with each verb's parameters, as /dawgen/models")
    def models() -> dict[str, Any]:
        return {"models": engine.models(), "verbs": {v: [s.describe() for s in specs] for v, specs in engine.job_verbs().items()},
                "default_model": config.server.default_model}

    @app.post("/api/models/{name}/load", status_code=202, summary="warm a model (between jobs, in its lane)")
    def load(name: str, who: Who) -> dict[str, Any]:
        clients.check_admin(who, "loading a model")
        return {"model": name, "action": "load", "lanes": engine.load(name)}

    @app.post("/api/models/{name}/unload", status_code=202, summary="give back a model's memory (between jobs)")
    def unload(name: str, who: Who) -> dict[str, Any]:
        clients.check_admin(who, "unloading a model")
        return {"model": name, "action": "unload", "lanes": engine.unload(name)}

    @app.get("/api/studio", summary="the daemon: version, devices, memory budgets, output root")
    def studio() -> dict[str, Any]:
        return studio_facts(engine, config)

    @app.get("/api/library", summary="results under the output root, newest first, a page at a time")
    def library_page(who: Who, page: int = Query(1, ge=1, le=1_000_000),
                     per_page: int = Query(50, ge=1, le=500)) -> JSONResponse:
        if who.admin:
            return JSONResponse(library.page(page, per_page))  # plain JSON data: no per-field encoding pass
        results = library.results()
        mine = clients.owned_job_ids(who, engine.journal, (r["job_id"] for r in results))
        return JSONResponse(library.page(page, per_page, [r for r in results if r["job_id"] in mine]))

    @app.get("/api/events", summary="Server-Sent Events: accepted, progress, done, error, dataset, training, checkpoint")
    async def events(who: Who) -> StreamingResponse:
        return StreamingResponse(hub.stream(who=who), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    def readable(path: str, who: Who) -> Path:
        """The file a request path names, if `who` may read it (a client: its own jobs' results)."""
        found = paths.resolve(path, roots)
        if not who.admin:
            clients.check_may_read(who, engine.journal, *dict.fromkeys([str(paths.unresolved(path, roots)), str(found)]))
        return found

    @app.get("/api/waveform/{path:path}", summary="a waveform + spectrogram PNG of a result (drawn once, cached)")
    def waveform(path: str, who: Who) -> Response:
        return Response(waves.png(readable(path, who)), media_type="image/png",
                        headers={"Cache-Control": "max-age=3600"})

    @app.get("/files/{path:path}", summary="a file under the output root (a client: of its own jobs)")
    def files(path: str, who: Who) -> FileResponse:
        return FileResponse(readable(path, who))

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    add_training_routes(app, engine, roots, clients)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app
