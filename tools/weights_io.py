"""Reading and writing MIMO-UNet weights: our safetensors files and official torch checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from tools.errors import RestorationError
from tools.files import atomic_write_bytes


class WeightsError(RestorationError):
    """A weights file that cannot be used, with what was wrong and what to do."""


def save_safetensors(state_dict: dict[str, torch.Tensor], path: Path, metadata: dict[str, object],
                     half: bool = True) -> None:
    """Save weights as safetensors (fp16 by default) with JSON-encoded metadata, atomically."""
    from safetensors.torch import save

    tensors = {k: (v.detach().half() if half else v.detach().float()).contiguous() for k, v in state_dict.items()}
    text_metadata = {k: v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()}
    atomic_write_bytes(Path(path), save(tensors, metadata=text_metadata))


def load_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load float32 weights and the metadata of a safetensors file."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as reader:
            metadata = dict(reader.metadata() or {})
            tensors = {key: reader.get_tensor(key).float() for key in reader.keys()}
    except Exception as error:  # safetensors raises its own opaque types
        raise WeightsError(f"{path} is not a readable safetensors file: {error}") from error
    return tensors, metadata
