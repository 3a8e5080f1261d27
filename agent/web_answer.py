"""The one answering path the chat page, the HTTP API and the reports share: bundle in, verified answer out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

from agent.answer import GroundedAnswer
from knowledge.bundle import QuestionBundle


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


def answer_bundle(bundle: QuestionBundle, image: Path | None, backend: str, out_dir: Path,
                  progress: Callable[[int, int], None] | None = None) -> GroundedAnswer:
    """Answer ``bundle`` with the named backend, restoring ``image`` into ``out_dir`` when the bundle calls for it.

    Args:
        progress: called with (tiles done, tiles total) while the image is restored.
    """
    from agent.backends import get_backend
    from agent.backends.base import AnswerRequest

    engine = get_backend(check_backend_name(backend))
    return engine.answer(AnswerRequest(bundle=bundle, image=image, out_dir=out_dir, progress=progress))
