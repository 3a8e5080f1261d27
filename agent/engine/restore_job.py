"""`cnaps restore` on an engine: one loaded network per worker, outputs written here, resumable from the manifest."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from agent.engine.manifest import bytes_sha256, file_sha256
from agent.engine.run import Outcome, Run, WorkItem, run_items
from agent.engine.work import Job


@dataclass
class AlreadyRestored:
    """An image skipped because its restored file in --out is intact and made with the same settings."""

    output_path: Path


class RestoreWorker:
    """Restores images with one network, loaded when the worker is built (once per actor or process).

    Args:
        preset, tile, device, bf16, keep_output: as for ``tools.restore.restore_file``.
        compare: also encode the before | after comparison.
    """

    def __init__(self, preset: str | None = None, tile: int | None = None, device: str | None = None,
                 bf16: bool | None = None, compare: bool = False, keep_output: bool = False):
        from tools.restore import get_restorer

        self.settings = {"preset": preset, "tile": tile, "device": device, "bf16": bf16, "keep_output": keep_output}
        self.compare = compare
        get_restorer(preset, device, bf16)  # load now: the first image should not pay for it

    def __call__(self, payload: dict, progress=None) -> dict:
        """Restore ``payload["path"]`` (scored against ``payload["reference"]`` when not empty) into bytes."""
        from tools.restore import restore_encoded

        encoded = restore_encoded(Path(payload["path"]), compare=self.compare, progress=progress,
                                  reference=Path(payload["reference"]) if payload.get("reference") else None,
                                  **self.settings)
        return {"key": payload["key"], "error": "", "output": encoded.output, "compare": encoded.compare or b"",
                "meta": json.dumps(encoded.measures()), "seconds": encoded.seconds}


def restore_many(engine, images: list[tuple[Path, str, Path | None]], out: Path, settings: dict, compare: bool,
                 *, force: bool = False) -> list[tuple[Path, object]]:
    """Restore (image, output name, reference) triples into ``out``; returns (image, outcome) in input order.

    An outcome is a ``RestorationResult``, an ``AlreadyRestored`` or an error message.
    """
    from tools.presets import resolve_weights

    name, weights = resolve_weights(settings.get("preset"))
    run = Run(engine=engine, job=Job(RestoreWorker, {**settings, "compare": compare}, mode="actors"),
              settings=_manifest_settings(settings, name, weights, compare),
              out=Path(out), write=lambda item, result: _write(Path(out), item, result), noun="images",
              tile_progress=True)
    items, rejected, images_by_key = [], [], {}
    for image, output_name, reference in images:
        if output_name in images_by_key:
            rejected.append(Outcome(f"{output_name} ({image})", "failed",
                                    f"another input named {output_name} was already written to {out}"))
            images_by_key[rejected[-1].key] = image
            continue
        images_by_key[output_name] = image
        try:
            items.append(WorkItem(output_name, _input_sha256(image, reference),
                                  {"key": output_name, "path": str(image.resolve()),
                                   "reference": str(reference.resolve()) if reference else ""}))
        except OSError as error:
            rejected.append(Outcome(output_name, "failed", f"{image} cannot be read: {error.strerror or error}"))
    outcomes = run_items(run, items, rejected, force=force)
    return [(images_by_key[outcome.key], _outcome(outcome, Path(out))) for outcome in outcomes]


def _manifest_settings(settings: dict, name: str, weights: Path, compare: bool) -> dict:
    """What makes two restorations of one image differ: the weights' bytes (not how they were named), the tile
    size, the device, bf16 as it will really be (``CNAPS_BF16`` decides when --bf16 is not given) and --compare."""
    bf16 = settings.get("bf16")
    return {"weights": name, "weights_sha256": file_sha256(weights), "tile": settings.get("tile"),
            "device": settings.get("device"), "compare": compare, "keep_output": bool(settings.get("keep_output")),
            "bf16": bf16 if bf16 is not None else os.environ.get("CNAPS_BF16", "") == "1"}


def _input_sha256(image: Path, reference: Path | None) -> str:
    digest = file_sha256(image)
    if reference is not None and reference.is_file():
        digest = bytes_sha256(f"{digest}:{file_sha256(reference)}".encode())
    return digest


def _write(out: Path, item: WorkItem, result: dict) -> dict[str, str]:
    """Write one restored image (and its comparison) with the tool's own atomic writer."""
    from tools.restore import EncodedRestoration, write_restoration

    encoded = EncodedRestoration(output=result["output"], compare=result["compare"] or None,
                                 **json.loads(result["meta"]))
    restored = write_restoration(encoded, Path(item.payload["path"]), out, item.key)
    result["restoration"] = restored
    outputs = {item.key: bytes_sha256(encoded.output)}
    if restored.compare_path is not None:
        outputs[restored.compare_path.name] = bytes_sha256(encoded.compare)
    return outputs


def _outcome(outcome: Outcome, out: Path) -> object:
    if outcome.status == "skipped":
        return AlreadyRestored(out / outcome.key)
    if outcome.status == "failed":
        return outcome.detail
    return outcome.result["restoration"]
