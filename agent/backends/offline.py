"""The embedded default backend: no language model and no network; restores the image when it applies, then composes."""

from __future__ import annotations

from agent.answer import GroundedAnswer
from agent.backends.base import AnswerRequest
from agent.ranking import make_ranker


class OfflineBackend:
    """Deterministic grounded answers from the bundle and the source cards, verified before they are returned."""

    name = "offline"

    def __init__(self, ranker: str | None = None, fallback: str | None = None) -> None:
        """Build the backend.

        Args:
            ranker: auto, embedding or lexical (default from $CNAPS_RANKER, else auto).
            fallback: accepted for a uniform interface and ignored: the offline backend is itself the fallback.
        """
        self._ranker = make_ranker(ranker)

    def answer(self, request: AnswerRequest) -> GroundedAnswer:
        """Run the restoration step when an image is given (it reports only what really ran), then compose."""
        from agent.composer import compose_offline

        restoration = None
        if request.image is not None:
            from agent.restoration_step import restore_for_answer

            restoration = restore_for_answer(request)
        return compose_offline(request.bundle, restoration, image=request.image, ranker=self._ranker)
