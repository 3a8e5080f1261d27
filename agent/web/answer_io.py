"""What both answer routes (`POST /v1/answers`, `POST /v1/jobs`) read and return: the checked form and the answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from fastapi import File, Form, Request, UploadFile
from pydantic import BaseModel, Field

from agent.answer import GroundedAnswer
from agent.web.answer import (RestoreOptions, check_backend_name, default_backend_name, resolve_bundle,
                              with_file_names)
from agent.web.limits import UploadError, UploadLimits, check_bundle_bytes, check_image_bytes, check_question
from agent.web.store import JobStore
from knowledge.bundle import QuestionBundle

# What a client's file name may contribute to the names of the files it gets back: letters, digits, . _ -
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class AnswerForm:
    """A checked answer request: the bundle to answer, the image bytes (if any) and how to restore them."""

    bundle: QuestionBundle
    backend: str
    options: RestoreOptions
    image: bytes | None = None
    image_name: str | None = None

    def save_image(self, folder: Path) -> Path | None:
        """Write the uploaded image into ``folder`` under its checked name; its path, or None without an image."""
        if self.image is None or self.image_name is None:
            return None
        path = folder / self.image_name
        path.write_bytes(self.image)
        return path


def upload_stem(filename: str | None) -> str:
    """The part of a client's file name that our file names may reuse: at most 64 safe characters, else 'image'."""
    stem = _UNSAFE_NAME.sub("_", Path(filename or "").stem).strip("._-")[:64]
    return stem or "image"


async def _read_capped(upload: UploadFile, cap: int) -> bytes:
    """At most ``cap + 1`` bytes of an upload: enough to tell that it is over the limit without reading it all."""
    return await upload.read(cap + 1)


async def read_answer_form(
    request: Request,
    question: str | None = Form(None, description="The question; with a bundle it replaces the bundle's own."),
    backend: str = Form(default_backend_name(), description="offline, openai or local."),
    bundle: UploadFile | None = File(None, description="A CNAPS-style bundle document (text, YAML or JSON)."),
    image: UploadFile | None = File(None, description="An image to restore (PNG, JPEG, WebP, BMP, TIFF)."),
    weights: str | None = Form(None, description="Weights preset for the restoration (default: the one the "
                                                 "bundle's recommended model maps to)."),
    preset: str | None = Form(None, description="Alias of `weights`.", deprecated=True),
    tile: int | None = Form(None, ge=0, le=8192, description="Tile size in pixels; 0: no tiling (default: chosen "
                                                             "from the image and free memory)."),
    device: str | None = Form(None, description="cpu, cuda or auto (default: auto)."),
) -> AnswerForm:
    """Check every part of an answer request before any work starts; UploadError says what was wrong."""
    limits: UploadLimits = request.app.state.config.limits
    question = check_question(question or "", limits)
    if bundle is None and not question:
        raise UploadError("send a question (form field 'question') or a bundle document (file field 'bundle')")
    text = None
    if bundle is not None:
        text = check_bundle_bytes(await _read_capped(bundle, limits.max_bundle_bytes), bundle.content_type, limits)
    question_bundle = resolve_bundle(question, text, origin="uploaded bundle")
    backend = _checked(check_backend_name, backend)
    options = _checked(RestoreOptions.checked, weights or preset, tile, device)
    form = AnswerForm(bundle=question_bundle, backend=backend, options=options)
    if image is not None:
        form.image = await _read_capped(image, limits.max_image_bytes)
        form.image_name = upload_stem(image.filename) + check_image_bytes(form.image, image.content_type, limits)
    return form


def _checked(check, *arguments):
    """``check(*arguments)``, its error (an unknown backend, an unusable restoration setting) as a 422 UploadError."""
    from agent.errors import BackendError

    try:
        return check(*arguments)
    except (ValueError, BackendError) as error:
        raise UploadError(str(error)) from None


class AnswerResponse(BaseModel):
    """One answer: its random id, the verified GroundedAnswer and where to fetch the image handed back."""

    id: str
    answer: GroundedAnswer
    restored_image_url: str | None = Field(
        None, description="Where to fetch the image handed back. It is a restoration only when "
                          "answer.restoration.outcome is restored; unchanged: the photo as it was sent (the output "
                          "was not clearly better, answer.restoration.outcome_reason says why, and "
                          "answer.restoration.advice what would help).")


def answer_response(store: JobStore, job_id: str, folder: Path, answer: GroundedAnswer,
                    request: Request) -> AnswerResponse:
    """The response for a finished answer: its restored image registered under ``job_id``, no server path in it."""
    image_url = _register_output(store, job_id, folder, answer, request)
    return AnswerResponse(id=job_id, answer=_public_answer(answer, image_url), restored_image_url=image_url)


def _public_answer(answer: GroundedAnswer, image_url: str | None) -> GroundedAnswer:
    """The answer with the server's folders replaced by file names and the image URL: clients never see our disk."""
    answer = with_file_names(answer)
    if answer.restoration is None:
        return answer
    restoration = answer.restoration.model_copy(update={"output_path": image_url or ""})
    return answer.model_copy(update={"restoration": restoration})


def _register_output(store: JobStore, job_id: str, folder: Path, answer: GroundedAnswer,
                     request: Request) -> str | None:
    """Remember the restored image when it lies inside the job folder, and return its URL (relative, or under the
    configured public URL: never from the client's Host header)."""
    if answer.restoration is None:
        return None
    output = Path(answer.restoration.output_path).resolve()
    if not output.is_file() or not output.is_relative_to(folder.resolve()):
        return None
    store.set_image(job_id, output)
    from agent.web.guards import public_url

    return public_url(request, "get_image", image_id=job_id)
