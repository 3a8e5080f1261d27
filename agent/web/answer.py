"""The one answering path the chat page, the HTTP API and the reports share: bundle in, verified answer out."""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from agent.answer import GroundedAnswer
from knowledge.bundle import QuestionBundle

if TYPE_CHECKING:
    from agent.backends.base import Backend

# One backend per name per process, so the local model server starts once, not once per web request.
_engines: dict[str, tuple[Backend, threading.Lock | None]] = {}
_engines_lock = threading.Lock()


def default_backend_name() -> str:
    """The backend used when a face is not told one: env ``CNAPS_BACKEND``, else offline."""
    return os.environ.get("CNAPS_BACKEND", "").strip() or "offline"


def check_backend_name(name: str) -> str:
    """``name`` when it is a known backend; BackendError naming the choices otherwise."""
    from agent.backends import BACKEND_NAMES
    from agent.errors import BackendError

    if name not in BACKEND_NAMES:
        raise BackendError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    return name


def resolve_bundle(question: str | None, document: str | None, origin: str = "<upload>") -> QuestionBundle:
    """The bundle a face answers: an uploaded document, else the seed's sources; a typed question replaces its own.

    Args:
        question: the user's question; empty or None keeps the bundle's own question.
        document: the text of a CNAPS-style bundle document (CNAPS text, YAML or JSON), or None.
        origin: how errors name the document.
    """
    from knowledge.parser import default_bundle, parse_bundle_text

    bundle = parse_bundle_text(document, origin=origin) if document is not None else default_bundle()
    question = (question or "").strip()
    return bundle.model_copy(update={"question": question}) if question else bundle


@dataclass(frozen=True)
class RestoreOptions:
    """How a web request asks the image to be restored; None everywhere: what the bundle and machine call for.

    Args:
        weights: a preset name (never a path: web clients do not name files on the server).
        tile: tile size in pixels, 0 for no tiling.
        device: cpu, cuda or auto.
        bf16: bfloat16 restoration (None: ``CNAPS_BF16`` decides).
    """

    weights: str | None = None
    tile: int | None = None
    device: str | None = None
    bf16: bool | None = None

    @classmethod
    def checked(cls, weights: str | None = None, tile: int | None = None, device: str | None = None) -> RestoreOptions:
        """Options a web client sent, refused with a RestorationError that names the choices when unusable."""
        from tools.errors import RestorationError
        from tools.inference import plan_tiles
        from tools.presets import PRESETS
        from tools.restore import resolve_device

        weights = (weights or "").strip() or None
        if weights is not None:
            if weights not in PRESETS:
                raise RestorationError(f"unknown weights preset {weights!r}; choose one of {', '.join(PRESETS)}")
            if not PRESETS[weights].installed():
                raise RestorationError(PRESETS[weights].missing_message())
        if tile is not None:
            plan_tiles(tile, tile, 16, tile)  # raises with the rule when the size is unusable
        device = (device or "").strip().lower() or None
        if device is not None:
            resolve_device(device)
        return cls(weights, tile, device)


def answer_bundle(bundle: QuestionBundle, image: Path | None, backend: str, out_dir: Path,
                  progress: Callable[[int, int], None] | None = None,
                  options: RestoreOptions | None = None) -> GroundedAnswer:
    """Answer ``bundle`` with the named backend, restoring ``image`` into ``out_dir`` when the bundle calls for it.

    Args:
        progress: called with (tiles done, tiles total) while the image is restored.
        options: weights, tile and device for the restoration.
    """
    from agent.backends.base import AnswerRequest

    options = options or RestoreOptions()
    engine, serial = shared_backend(backend)
    with serial or nullcontext():
        return engine.answer(AnswerRequest(bundle=bundle, image=image, out_dir=out_dir, progress=progress,
                                           preset=options.weights, tile=options.tile, device=options.device,
                                           bf16=options.bf16))


def shared_backend(name: str) -> tuple[Backend, threading.Lock | None]:
    """The process's one backend called ``name``, and a lock its answers must hold (None: they may run at once).

    A backend that runs its own model (``embedded``) answers one request at a time: its server starts on the
    first answer and serves a single request at a time anyway.
    """
    from agent.backends import get_backend

    name = check_backend_name(name)
    with _engines_lock:
        if name not in _engines:
            engine = get_backend(name)
            _engines[name] = (engine, threading.Lock() if getattr(engine, "embedded", False) else None)
        return _engines[name]


def warm_up(backend: str) -> None:
    """Answer the seed's question once, so the first real request does not wait for models to load.

    A failure is only logged: the first real request will report it to its user.
    """
    try:
        with tempfile.TemporaryDirectory(prefix="cnaps-warm-") as folder:
            answer_bundle(resolve_bundle(None, None), None, backend, Path(folder))
    except Exception as error:  # noqa: BLE001
        logging.getLogger(__name__).warning("warm-up with the %s backend failed: %s", backend, error)


def without_server_paths(answer: GroundedAnswer, shown_as: dict[Path, str]) -> GroundedAnswer:
    """The answer with each server path in ``shown_as`` replaced, wherever it appears, by what a web user may see.

    Args:
        shown_as: server path -> its public name (a file name); longer paths are replaced first.
    """
    replacements = sorted(((str(path), name) for path, name in shown_as.items()), key=lambda item: -len(item[0]))

    def public(value):
        if isinstance(value, str):
            for path, name in replacements:
                value = value.replace(path, name)
            return value
        if isinstance(value, list):
            return [public(item) for item in value]
        if isinstance(value, dict):
            return {key: public(item) for key, item in value.items()}
        return value

    return GroundedAnswer.model_validate(public(answer.model_dump()))


def with_file_names(answer: GroundedAnswer) -> GroundedAnswer:
    """The answer with its restoration's input and output paths shown as bare file names, wherever they appear,
    and any other path under a server folder (a note naming the weights folder, say) shown as its file name."""
    from agent.web.guards import redact_paths

    if answer.restoration is not None:
        paths = (Path(answer.restoration.output_path), Path(answer.restoration.input_path))
        answer = without_server_paths(answer, {path: path.name for path in paths})
    return GroundedAnswer.model_validate_json(redact_paths(answer.model_dump_json()))
