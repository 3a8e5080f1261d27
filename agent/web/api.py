"""The HTTP API (`cnaps serve`): grounded answers and restored images for other software, with upload limits."""

from __future__ import annotations

import asyncio
import mimetypes
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from agent.answer import GroundedAnswer
from agent.errors import BackendError
from agent.web.answer import (answer_bundle, check_backend_name, default_backend_name, resolve_bundle, warm_up,
                              with_file_names)
from agent.web.limits import UploadError, UploadLimits, check_bundle_bytes, check_image_bytes, check_question
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
    max_jobs: int = Field(default=200, ge=1)
    warm_up: bool = True


class AnswerResponse(BaseModel):
    """One answer: its random id, the verified GroundedAnswer and where to fetch the restored image."""

    id: str
    answer: GroundedAnswer
    restored_image_url: str | None = None


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


ERROR_KINDS = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large",
               415: "unsupported_media_type", 422: "invalid_request", 503: "busy"}


def _error_response(status: int, kind: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(ErrorResponse(error=kind, detail=detail).model_dump(), status_code=status, headers=headers)


def _install_error_handlers(app: FastAPI) -> None:
    """Turn every user error into a JSON ErrorResponse with a 4xx (or 503 when the server is busy)."""

    async def upload_error(_: Request, error: UploadError) -> JSONResponse:
        return _error_response(error.status, ERROR_KINDS.get(error.status, "invalid_request"), str(error))

    async def bundle_error(_: Request, error: BundleError) -> JSONResponse:
        return _error_response(422, "bad_bundle", str(error))

    async def image_error(_: Request, error: RestorationError) -> JSONResponse:
        return _error_response(422, "bad_image", str(error))

    async def backend_error(_: Request, error: BackendError) -> JSONResponse:
        return _error_response(503, "backend_unavailable", str(error))

    async def busy(_: Request, error: PoolBusyError) -> JSONResponse:
        return _error_response(503, "busy", str(error), headers={"Retry-After": "5"})

    async def http_error(_: Request, error: HTTPException) -> JSONResponse:
        return _error_response(error.status_code, ERROR_KINDS.get(error.status_code, "error"), str(error.detail))

    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
                             for item in error.errors())
        return _error_response(422, "invalid_request", problems)

    for kind, handler in ((UploadError, upload_error), (BundleError, bundle_error), (RestorationError, image_error),
                          (BackendError, backend_error), (PoolBusyError, busy), (HTTPException, http_error),
                          (RequestValidationError, validation_error)):
        app.add_exception_handler(kind, handler)


async def _read_capped(upload: UploadFile, cap: int) -> bytes:
    """At most ``cap + 1`` bytes of an upload: enough to tell that it is over the limit without reading it all."""
    return await upload.read(cap + 1)


async def _bundle_from_form(question: str | None, bundle: UploadFile | None, limits: UploadLimits):
    question = check_question(question or "", limits)
    if bundle is None and not question:
        raise UploadError("send a question (form field 'question') or a bundle document (file field 'bundle')")
    text = None
    if bundle is not None:
        text = check_bundle_bytes(await _read_capped(bundle, limits.max_bundle_bytes), bundle.content_type, limits)
    return resolve_bundle(question, text, origin="uploaded bundle")


def _public_answer(answer: GroundedAnswer, image_url: str | None) -> GroundedAnswer:
    """The answer with the server's folders replaced by file names and the image URL: clients never see our disk."""
    if answer.restoration is None:
        return answer
    answer = with_file_names(answer)
    restoration = answer.restoration.model_copy(update={"output_path": image_url or ""})
    return answer.model_copy(update={"restoration": restoration})


def create_app(config: ApiConfig | None = None) -> FastAPI:
    """The FastAPI application, with its own worker pool and job store (closed when the app shuts down)."""
    config = config or ApiConfig()
    pool = WorkerPool(config.workers, config.queue_size)
    store = JobStore(config.work_root, config.max_jobs)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        if config.warm_up:
            # Through the pool, so loading models counts as work and never runs beside a restoration.
            pool.submit(lambda: warm_up(default_backend_name()))
        try:
            yield
        finally:
            pool.shutdown()
            store.close()

    app = FastAPI(title="cnaps-agent", version="0.1.0", lifespan=lifespan,
                  description="Grounded answers to CNAPS-style image questions, with real MIMO-UNet restoration.")
    app.state.pool, app.state.store, app.state.config = pool, store, config
    app.add_middleware(BodySizeLimit, max_bytes=config.limits.max_request_bytes)
    _install_error_handlers(app)
    errors = {status: {"model": ErrorResponse} for status in (413, 415, 422, 503)}

    @app.get("/healthz", response_model=Health)
    def healthz() -> Health:
        """Liveness and load: the backends this server knows and its worker pool."""
        from agent.backends import BACKEND_NAMES

        return Health(status="ok", backends=list(BACKEND_NAMES), pool=pool.stats())

    @app.post("/v1/answers", response_model=AnswerResponse, responses=errors)
    async def create_answer(
        request: Request,
        question: str | None = Form(None, description="The question; with a bundle it replaces the bundle's own."),
        backend: str = Form(default_backend_name(), description="offline, openai or local."),
        bundle: UploadFile | None = File(None, description="A CNAPS-style bundle document (text, YAML or JSON)."),
        image: UploadFile | None = File(None, description="An image to restore (PNG, JPEG, WebP, BMP, TIFF)."),
    ) -> AnswerResponse:
        """Answer a question from the seed's sources or an uploaded bundle, restoring the image when one is sent."""
        limits = config.limits
        question_bundle = await _bundle_from_form(question, bundle, limits)
        try:
            check_backend_name(backend)
        except BackendError as error:
            raise UploadError(str(error)) from None
        image_bytes = suffix = None
        if image is not None:
            image_bytes = await _read_capped(image, limits.max_image_bytes)
            suffix = check_image_bytes(image_bytes, image.content_type, limits)
        job_id, folder = store.new_job()
        try:
            image_path = None
            if image_bytes is not None:
                image_path = folder / f"input{suffix}"
                image_path.write_bytes(image_bytes)
            job = pool.submit(lambda: answer_bundle(question_bundle, image_path, backend, folder / "out"))
            answer = await asyncio.wrap_future(job)
        except BaseException:
            store.discard(job_id)
            raise
        image_url = _register_output(store, job_id, folder, answer, request)
        return AnswerResponse(id=job_id, answer=_public_answer(answer, image_url), restored_image_url=image_url)

    @app.get("/v1/images/{image_id}", response_class=FileResponse,
             responses={404: {"model": ErrorResponse}, 200: {"content": {"image/png": {}}}})
    def get_image(image_id: str) -> FileResponse:
        """The restored image of an earlier answer, by the id that answer returned."""
        path = store.image(image_id)
        if path is None:
            raise HTTPException(404, f"no restored image with id {image_id!r}; ids come from POST /v1/answers")
        return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")

    return app


def _register_output(store: JobStore, job_id: str, folder: Path, answer: GroundedAnswer,
                     request: Request) -> str | None:
    """Remember the restored image when it lies inside the job folder, and return its absolute URL."""
    if answer.restoration is None:
        return None
    output = Path(answer.restoration.output_path).resolve()
    if not output.is_file() or not output.is_relative_to(folder.resolve()):
        return None
    store.set_image(job_id, output)
    return str(request.url_for("get_image", image_id=job_id))


def serve(host: str, port: int, config: ApiConfig | None = None) -> None:
    """Run the API with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(create_app(config), host=host, port=port, log_level="info")
