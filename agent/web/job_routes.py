"""The API's job routes: start a long answer at once, follow it by polling or server-sent events, cancel it."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from agent.web.answer import answer_bundle
from agent.web.answer_io import AnswerForm, AnswerResponse, answer_response, read_answer_form
from agent.web.guards import public_url
from agent.web.jobs import FINISHED, Job, JobBoard, JobError, JobProgress, JobStatus

# How often an event stream looks at its job, and how long it stays silent before a keep-alive comment.
EVENT_POLL_SECONDS = 0.1
KEEP_ALIVE_SECONDS = 15.0


class JobResponse(BaseModel):
    """A job as clients see it: status, progress, and the answer (or the error) once it has finished."""

    id: str
    status: JobStatus = Field(description="queued, running, done, failed or cancelled.")
    progress: JobProgress
    result: AnswerResponse | None = Field(None, description="The answer, when status is done.")
    error: JobError | None = Field(None, description="Why it failed, when status is failed.")
    created: datetime
    finished: datetime | None = None
    status_url: str
    events_url: str


def job_response(board: JobBoard, job: Job, request: Request) -> JobResponse:
    """The client's view of ``job`` (a snapshot), with the answer's restored image registered for download."""
    result = None
    if job.status == "done" and job.answer is not None:
        result = answer_response(board.store, job.id, job.folder, job.answer, request)
    return JobResponse(id=job.id, status=job.status, progress=job.progress, result=result, error=job.error,
                       created=_utc(job.created), finished=_utc(job.finished) if job.finished else None,
                       status_url=public_url(request, "get_job", job_id=job.id),
                       events_url=public_url(request, "job_events", job_id=job.id))


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=timezone.utc)


def _known(board: JobBoard, job_id: str) -> Job:
    job = board.snapshot(job_id)
    if job is None:
        raise HTTPException(404, f"no job with id {job_id!r}; ids come from POST /v1/jobs, and finished jobs expire")
    return job


def add_job_routes(app: FastAPI, board: JobBoard, error_model: type[BaseModel]) -> None:
    """Add ``/v1/jobs`` (start), ``/v1/jobs/{id}`` (poll, cancel) and ``/v1/jobs/{id}/events`` (follow) to ``app``.

    Args:
        error_model: the body of every error response, for the OpenAPI schema.
    """
    errors = {status: {"model": error_model} for status in (413, 415, 422, 503)}
    not_found = {404: {"model": error_model}}

    @app.post("/v1/jobs", status_code=202, response_model=JobResponse, responses=errors)
    async def create_job(request: Request, response: Response,
                         form: AnswerForm = Depends(read_answer_form)) -> JobResponse:
        """Start answering in the background and return at once (202) with the job's id and URLs.

        Takes the same form as POST /v1/answers. Follow the job with GET /v1/jobs/{id} or its events.
        """
        job = board.create()
        try:
            image_path = form.save_image(job.folder)
        except BaseException:
            board.forget(job.id)
            raise
        board.start(job, lambda progress: answer_bundle(form.bundle, image_path, form.backend, job.folder / "out",
                                                        progress, form.options))
        view = job_response(board, board.snapshot(job.id) or job, request)
        response.headers["Location"] = view.status_url
        return view

    @app.get("/v1/jobs/{job_id}", response_model=JobResponse, responses=not_found)
    def get_job(job_id: str, request: Request) -> JobResponse:
        """A job's status and progress (stage, tiles done of the total); its answer once done."""
        return job_response(board, _known(board, job_id), request)

    @app.delete("/v1/jobs/{job_id}", response_model=JobResponse, responses=not_found)
    def delete_job(job_id: str, request: Request) -> JobResponse:
        """Cancel a job (a running restoration stops at its next tile); a finished job is removed with its files."""
        job = _known(board, job_id)
        if job.status in FINISHED:
            board.forget(job_id)
            return job_response(board, job, request).model_copy(update={"result": None})
        board.cancel(job_id)
        return job_response(board, _known(board, job_id), request)

    @app.get("/v1/jobs/{job_id}/events", response_class=StreamingResponse, responses={
        **not_found, 200: {"content": {"text/event-stream": {}},
                           "description": "One event per change: `progress`, then `done`, `failed` or `cancelled`; "
                                          "each event's data is the job as GET /v1/jobs/{id} returns it."}})
    async def job_events(job_id: str, request: Request) -> StreamingResponse:
        """Server-sent events for a job: its progress as it changes, then its final state; the stream then ends."""
        _known(board, job_id)
        return StreamingResponse(_events(board, job_id, request), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def _events(board: JobBoard, job_id: str, request: Request):
    """The event stream of one job: an event per new version, a comment now and then to keep proxies open."""
    version, quiet_since = -1, time.monotonic()
    while True:
        job = board.snapshot(job_id)
        if job is None:
            yield _event("expired", f'{{"id": "{job_id}", "detail": "the job expired or was removed"}}', version + 1)
            return
        if job.version != version:
            version, quiet_since = job.version, time.monotonic()
            name = job.status if job.status in FINISHED else "progress"
            yield _event(name, job_response(board, job, request).model_dump_json(), version)
            if job.status in FINISHED:
                return
        elif time.monotonic() - quiet_since > KEEP_ALIVE_SECONDS:
            quiet_since = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(EVENT_POLL_SECONDS)


def _event(name: str, data: str, event_id: int) -> str:
    return f"id: {event_id}\nevent: {name}\ndata: {data}\n\n"
