"""The HTTP API (`cnaps serve`): grounded answers and restored images for other software, with upload limits."""

from __future__ import annotations

import asyncio
import mimetypes
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from agent.errors import BackendError
from agent.web.answer import answer_bundle, default_backend_name, warm_up
from agent.web.answer_io import AnswerForm, AnswerResponse, answer_response, read_answer_form
from agent.web.job_routes import add_job_routes
from agent.web.jobs import JobBoard
from agent.web.guards import BodyDeadline, PartSizeLimit
from agent.web.limits import UploadError, UploadLimits
from agent.web.pool import PoolBusyError, PoolStats, WorkerPool
from agent.web.store import JobStore
from knowledge.errors import BundleError
from tools.errors import RestorationError


class ApiConfig(BaseModel):
    """How the server runs: worker pool, queue, upload limits and where job folders go."""

    workers: int = Field(default=1, ge=1, le=16)
    queue_size: int = Field(default=16, ge=0, le=1000)
    limits: UploadLimits = Field(default_factory=UploadLimits)
    work_root: Path | None = None
    max_jobs: int = Field(default=200, ge=2)
    job_seconds: float = Field(default=3600.0, gt=0, description="How long a finished job and its files are kept.")
    warm_up: bool = True


class ErrorResponse(BaseModel):
    """Every error the API returns: a short kind and a message that says what was wrong."""

    error: str
    detail: str


class Health(BaseModel):
    """The health check: the server is up, which backends exist and how busy the pool is."""

    status: str
    backends: list[str]
    pool: PoolStats


class BodySizeLimit:
    """ASGI middleware refusing request bodies over ``max_bytes``, declared or streamed, before they are stored."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = _error_response(413, "too_large", f"request body is {int(declared)} bytes; the limit is "
                                                         f"{self.max_bytes}")
            await response(scope, receive, send)
            return
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # An HTTPException passes through FastAPI's body parsing unchanged (others become a bare 400).
                raise HTTPException(413, f"request body exceeds the limit of {self.max_bytes} bytes")
            return message

        await self.app(scope, limited_receive, send)


ERROR_KINDS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 408: "timeout", 413: "too_large",
               415: "unsupported_media_type", 422: "invalid_request", 503: "busy"}


def _error_response(status: int, kind: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    from agent.web.guards import redact_paths

    return JSONResponse(ErrorResponse(error=kind, detail=redact_paths(detail)).model_dump(), status_code=status,
                        headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    """Turn every user error into a JSON ErrorResponse with a 4xx (or 503 when the server is busy)."""

    async def upload_error(_: Request, error: UploadError) -> JSONResponse:
        return _error_response(error.status, ERROR_KINDS.get(error.status, "invalid_request"), str(error))

    async def bundle_error(_: Request, error: BundleError) -> JSONResponse:
        status = getattr(error, "status", 422)  # a bundle over the limits (knowledge/limits.py) says which
        return _error_response(status, "too_large" if status == 413 else "bad_bundle", str(error))

    async def image_error(_: Request, error: RestorationError) -> JSONResponse:
        return _error_response(422, "bad_image", str(error))

    async def backend_error(_: Request, error: BackendError) -> JSONResponse:
        return _error_response(503, "backend_unavailable", str(error))

    async def busy(_: Request, error: PoolBusyError) -> JSONResponse:
        return _error_response(503, "busy", str(error), headers={"Retry-After": "5"})

    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        return _error_response(error.status_code, ERROR_KINDS.get(error.status_code, "error"), str(error.detail),
                               headers=getattr(error, "headers", None))

    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
                             for item in error.errors())
        return _error_response(422, "invalid_request", problems)

    async def unexpected(_: Request, error: Exception) -> JSONResponse:
        # Whatever went wrong, the client gets JSON without a traceback or a server path, and the server stays up.
        return _error_response(500, "internal_error", f"the server could not answer this request "
                                                      f"({type(error).__name__}); it is still running")

    for kind, handler in ((Exception, unexpected), (UploadError, upload_error), (BundleError, bundle_error), (RestorationError, image_error),
                          (BackendError, backend_error), (PoolBusyError, busy), (HTTPException, http_error),
                          (RequestValidationError, validation_error)):
        app.add_exception_handler(kind, handler)


def create_app(config: ApiConfig | None = None) -> FastAPI:
    """The FastAPI application, with its own worker pool and job store (closed when the app shuts down)."""
    config = config or ApiConfig()
    pool = WorkerPool(config.workers, config.queue_size)
    store = JobStore(config.work_root, config.max_jobs)
    board = JobBoard(pool, store, keep_finished=config.max_jobs // 2, keep_seconds=config.job_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if config.warm_up:
            # Through the pool, so loading models counts as work and never runs beside a restoration.
            pool.submit(lambda: warm_up(default_backend_name()))
        try:
            yield
        finally:
            board.cancel_all()  # running restorations stop at their next tile instead of holding the shutdown
            pool.shutdown()
            store.close()

    from fastapi_offline import FastAPIOffline

    # /docs and /redoc from the package's own Swagger UI and ReDoc files: they work without internet.
    app = FastAPIOffline(title="cnaps-agent", version="0.1.0", lifespan=lifespan,
                         description="Grounded answers to CNAPS-style image questions, with real MIMO-UNet "
                                     "restoration. Short requests: POST /v1/answers; long ones: POST /v1/jobs.")
    # No trailing-slash redirects: Starlette builds their Location from the client's Host header (GET /v1/jobs/
    # with "Host: evil.example" answered 307 http://evil.example/v1/jobs), so the slash variant is a JSON 404.
    app.router.redirect_slashes = False
    app.state.pool, app.state.store, app.state.config, app.state.jobs = pool, store, config, board
    app.add_middleware(BodySizeLimit, max_bytes=config.limits.max_request_bytes)
    app.add_middleware(PartSizeLimit, limits={"bundle": config.limits.max_bundle_bytes,
                                              "image": config.limits.max_image_bytes})
    app.add_middleware(BodyDeadline, seconds=config.limits.body_timeout_s)
    _install_error_handlers(app)
    errors = {status: {"model": ErrorResponse} for status in (413, 415, 422, 503)}

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """Liveness and load: the backends this server knows and its worker pool."""
        from agent.backends import BACKEND_NAMES

        return Health(status="ok", backends=list(BACKEND_NAMES), pool=pool.stats())

    @app.post("/v1/answers", response_model=AnswerResponse, responses=errors)
    async def create_answer(request: Request, form: AnswerForm = Depends(read_answer_form)) -> AnswerResponse:
        """Answer a question from the seed's sources or an uploaded bundle, restoring the image when one is sent.

        The connection stays open until the answer is ready; for large images use POST /v1/jobs.
        """
        job_id, folder = store.new_job()
        try:
            image_path = form.save_image(folder)
            job = pool.submit(lambda: answer_bundle(form.bundle, image_path, form.backend, folder / "out",
                                                    options=form.options))
            answer = await asyncio.wrap_future(job)
        except BaseException:
            store.discard(job_id)
            raise
        return answer_response(store, job_id, folder, answer, request)

    @app.get("/v1/images/{image_id}", response_class=FileResponse,
             responses={404: {"model": ErrorResponse}, 200: {"content": {"image/png": {}}}})
    def get_image(image_id: str) -> FileResponse:
        """The restored image of an earlier answer, by the id that answer returned."""
        path = store.image(image_id)
        if path is None:
            raise HTTPException(404, f"no restored image with id {image_id!r}; ids come from POST /v1/answers")
        # Saved as <stem>_restored.<ext>, so a download never takes the name of the photo it came from.
        return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
                            filename=path.name, content_disposition_type="inline")

    add_job_routes(app, board, ErrorResponse)
    return app


def serve(host: str, port: int, config: ApiConfig | None = None) -> None:
    """Run the API with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(config), host=host, port=port, log_level="info")
