"""The studio's HTTP side: the JSON API under /api/, the live view as server-sent events, the
renders folder's files, and the page (plain HTML/CSS/JS shipped in ``static/``, no build step).

FastAPI gives the routes, OpenAPI at /docs for free, and a TestClient for the tests; every
request first passes ``security.Guard`` (Host, token, same origin).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles

from ... import __version__
from ...config import json_schema
from ...errors import ZoomdreamError
from . import recipes, views
from .jobs import ACTIVE
from .security import TOKEN_COOKIE, Guard, Refused, contained
from .service import Conflict, NotFound, Studio

STATIC = Path(__file__).parent / "static"
KEEPALIVE_S = 15.0
# Only our own scripts, styles, pictures and videos; never inside another site's frame (a page
# that frames the studio could trick a click on Render); no Referer that could carry ?token=.
HEADERS = [(b"content-security-policy", b"default-src 'self'; img-src 'self' data:; media-src 'self'; "
            b"style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"),
           (b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]  # fmt: skip


class GuardMiddleware:
    """Every request passes the guard before any route sees it (pure ASGI: streams untouched)."""

    def __init__(self, app: Any, guard: Guard):
        self.app, self.guard = app, guard

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            try:
                self.guard.check(request.method, dict(request.headers), request.cookies, request.query_params.get("token"))
            except Refused as refused:
                await JSONResponse({"error": str(refused)}, refused.status, headers={"Cache-Control": "no-store"})(scope, receive, send)
                return

            async def secured(message: dict) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", []), *HEADERS]
                await send(message)

            await self.app(scope, receive, secured)
            return
        await self.app(scope, receive, send)


def create_app(studio: Studio, guard: Guard) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await asyncio.to_thread(studio.close)  # running renders stop after their frame, checkpointed

    app = FastAPI(title="zoomdream studio", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Write, preview, watch, stop and resume zoomdream renders.")  # Swagger UI would load from a CDN
    app.state.studio, app.state.guard = studio, guard
    app.add_middleware(GuardMiddleware, guard=guard)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(ZoomdreamError)
    async def user_error(request: Request, error: ZoomdreamError) -> JSONResponse:
        status = 404 if isinstance(error, NotFound) else 409 if isinstance(error, Conflict) else 400
        return JSONResponse(recipes.error_body(error, getattr(request.state, "recipe_text", "")), status)

    @app.exception_handler(Refused)
    async def refused(request: Request, error: Refused) -> JSONResponse:
        return JSONResponse({"error": str(error)}, error.status)

    async def recipe(request: Request) -> dict:
        if int(request.headers.get("content-length") or 0) > recipes.MAX_RECIPE_BYTES:
            raise ZoomdreamError(f"recipe: larger than {recipes.MAX_RECIPE_BYTES >> 10} KiB; a recipe is a few lines of settings")
        body = await request.body()
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            raise ZoomdreamError("recipe: not UTF-8 text; post the recipe as YAML or JSON") from None
        request.state.recipe_text = text
        return recipes.parse(text, request.headers.get("content-type", ""))

    @app.get("/", include_in_schema=False)
    def index(request: Request) -> Response:
        page = HTMLResponse((STATIC / "index.html").read_text(), headers={"Cache-Control": "no-store"})
        token = request.query_params.get("token")
        if token and guard.token_ok(token):  # a link with ?token= once, then the cookie
            page.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return page

    @app.get("/files/{path:path}", summary="A file inside the renders folder (videos, sheets, look plots)")
    def files(path: str) -> FileResponse:
        real = contained(studio.renders, path, "file")
        if not real.is_file():
            raise NotFound(f"no file {path!r} in the renders folder")
        return FileResponse(real, headers={"Cache-Control": "no-cache"})

    @app.get("/api/renders", summary="Every render under the renders folder, newest first, with its state")
    def list_renders() -> dict:
        return {"renders": studio.listing(), "renders_dir": str(studio.renders)}

    @app.post("/api/renders", status_code=202, summary="Queue a render of the posted recipe (YAML or JSON body)")
    async def start(request: Request, preview: bool = False, overwrite: bool = False) -> dict:
        raw = await recipe(request)
        return await asyncio.to_thread(studio.start, raw, preview, overwrite)

    @app.post("/api/check", summary="Check a recipe (YAML or JSON body) as `zoomdream check` does")
    async def check_recipe(request: Request) -> dict:
        raw = await recipe(request)
        config = await asyncio.to_thread(recipes.prepare, raw, studio.renders, studio.project, studio.allowed)
        return {"ok": True, "summary": recipes.summary(config, studio.renders), "name": config.name,
                "frames": config.frame_count, "size": list(config.size)}  # fmt: skip

    @app.get("/api/schema", summary="The recipe's fields (dotted keys with descriptions) and its JSON Schema")
    def schema() -> dict:
        return {"fields": recipes.reference(), "json_schema": json_schema()}

    @app.get("/api/queue", summary="What each device's worker renders now and what waits")
    def queue() -> dict:
        jobs = [job for job in list(studio.worker.jobs.values()) if job.active]
        return {"jobs": [{"id": job.id, "device": job.device, "position": studio.worker.position(job), **job.status()} for job in jobs]}

    @app.get("/api/renders/{rid:path}/events", summary="Server-sent events: progress, newest frame, look so far")
    async def events(rid: str, request: Request) -> StreamingResponse:
        folder, job = studio.lookup(rid)
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return StreamingResponse(_stream(studio, rid, folder, job), media_type="text/event-stream", headers=headers)

    @app.get("/api/renders/{rid:path}/thumb.jpg", summary="A small picture of the render")
    def thumb(rid: str) -> Response:
        picture = views.thumbnail(*studio.lookup(rid))
        if picture is None:
            return Response(status_code=204)
        return Response(picture, media_type="image/jpeg", headers={"Cache-Control": "no-cache"})

    @app.get("/api/renders/{rid:path}/live.jpg", summary="The newest frame of a render the studio is running")
    def live_frame(rid: str) -> Response:
        _, job = studio.lookup(rid)
        if job is None or job.frame is None:
            raise NotFound(f"{rid}: no live frame (the studio is not rendering it)")
        return Response(job.frame, media_type="image/jpeg", headers={"Cache-Control": "no-store", "X-Frame": str(job.frame_index)})

    @app.get("/api/renders/{rid:path}/recipe", summary="The render's recipe as YAML to edit and post again")
    def editable(rid: str) -> PlainTextResponse:
        text = studio.detail(rid)["editable"]
        if text is None:
            raise NotFound(f"{rid}: no recipe")
        return PlainTextResponse(text, media_type="text/yaml")

    @app.post("/api/renders/{rid:path}/stop", summary="Stop after the frame in flight (the video so far is kept)")
    def stop(rid: str) -> dict:
        return studio.stop(rid)

    @app.post("/api/renders/{rid:path}/resume", status_code=202, summary="Continue an interrupted render")
    def resume(rid: str) -> dict:
        return studio.resume(rid)

    @app.post("/api/renders/{rid:path}/preview", status_code=202, summary="Queue a preview of the render's recipe")
    def preview(rid: str) -> dict:
        return studio.preview(rid)

    @app.post("/api/renders/{rid:path}/look", summary="Measure a finished render (look.json, sheet, curves)")
    def look(rid: str) -> dict:
        return {"lines": studio.look(rid)}

    @app.get("/api/renders/{rid:path}", summary="One render: state, progress, videos, verdicts, recipe")
    def one(rid: str) -> dict:
        return studio.detail(rid)

    return app


async def _stream(studio: Studio, rid: str, folder: Any, job: Any) -> AsyncIterator[str]:
    """Push a message whenever the job changes (woken from the render's thread), so a frame is on
    the page a few milliseconds after the render made it; a render by another process is read
    from its folder every two seconds."""
    loop, wake = asyncio.get_running_loop(), asyncio.Event()

    def poke() -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed under a finishing render
            loop.call_soon_threadsafe(wake.set)

    unlisten = job.listen(poke) if job is not None else None
    since, frame, version, quiet = 0, -2, -1, time.monotonic()
    try:
        yield "retry: 2000\n\n"
        while not studio.closing:
            if job is None or job.version != version:
                version = job.version if job is not None else version
                message = studio.live(rid, job, folder, since, frame)
                since, frame = message.get("look_count", since), message.get("frame_index", frame)
                yield f"data: {json.dumps(message)}\n\n"
                quiet = time.monotonic()
                if message["state"] not in ACTIVE and (job is not None or message["state"] != "rendering"):
                    yield "event: end\ndata: {}\n\n"
                    return
            elif time.monotonic() - quiet > KEEPALIVE_S:
                yield ": keepalive\n\n"
                quiet = time.monotonic()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), 1.0 if job is not None else 2.0)
            wake.clear()
    finally:
        if unlisten is not None:
            unlisten()
