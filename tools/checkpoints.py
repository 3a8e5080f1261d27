"""Turning a weights file into a ready MIMO-UNet: official torch checkpoints and our own safetensors.

Official files (``.pkl``/``.pth`` holding ``{"model": state_dict}``, keys optionally prefixed with
``module.``) are read with ``torch.load(weights_only=True)``, so a pickle can never run code, and
loaded with ``strict=True``.  When keys or shapes do not match, the error names the official variant
the file resembles and what is missing, unexpected or mis-shaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import torch

from tools.mimo_unet import VARIANTS, MIMOUNet, build_network
from tools.weights_io import WeightsError, load_safetensors

#: The largest network a weights file may describe (the official MIMO-UNet+ has 20 blocks and width 32).
MAX_NUM_RES = 64
MAX_WIDTH = 512
#: The ``format`` metadata value that marks our own safetensors files.
OWN_FORMAT = "cnaps-mimo-unet"
_SAFETENSORS_MAX_HEADER = 100_000_000
_LISTED = 6  # how many offending keys an error message names


@dataclass
class LoadedNetwork:
    """A network in eval mode with its weights, and what the file said about itself."""

    network: MIMOUNet
    variant: str
    num_res: int
    width: int
    source: str  # "official" or "cnaps"
    metadata: dict[str, str] = field(default_factory=dict)


def load_network(path: Path) -> LoadedNetwork:
    """Read a weights file of either kind (decided by its content, not its name) into an eval-mode network."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist; pass a preset name or an existing file")
    if path.stat().st_size == 0:
        raise WeightsError(f"weights file {path} is empty; download it again")
    if _looks_like_safetensors(path):
        return _load_own(path)
    return _load_official(path)


def _looks_like_safetensors(path: Path) -> bool:
    # safetensors: 8-byte little-endian header length, then a JSON object.
    with path.open("rb") as stream:
        head = stream.read(9)
    if len(head) < 9:
        return False
    header_length = int.from_bytes(head[:8], "little")
    return 0 < header_length < _SAFETENSORS_MAX_HEADER and head[8:9] == b"{"


def _load_own(path: Path) -> LoadedNetwork:
    tensors, metadata = load_safetensors(path)
    if metadata.get("format") != OWN_FORMAT:
        raise WeightsError(f"{path} is a safetensors file without cnaps-agent metadata (format="
                           f"{metadata.get('format')!r}); train one with `cnaps train` or use an official checkpoint")
    variant = metadata.get("variant", "MIMO-UNet")
    try:
        num_res, width = int(metadata["num_res"]), int(metadata["width"])
        _check_size(path, num_res, width)
        described = f"{variant} (num_res={num_res}, width={width})"
        # Shapes are compared on the meta device first: metadata that does not match the tensors allocates nothing.
        _check_shapes(_meta_network(variant, num_res=num_res, width=width), tensors, path, described)
        network = build_network(variant, num_res=num_res, width=width)
    except (KeyError, ValueError) as error:
        raise WeightsError(f"{path} has unusable metadata ({error}); it needs variant, num_res and width") from error
    _load_strict(network, tensors, path, described)
    return LoadedNetwork(network.eval(), variant, num_res, width, "cnaps", metadata)


def _check_size(path: Path, num_res: int, width: int) -> None:
    """Refuse a network size no MIMO-UNet has, before anything is allocated (a width of 10**9 asks for TBs)."""
    if not (1 <= num_res <= MAX_NUM_RES and 1 <= width <= MAX_WIDTH):
        raise WeightsError(f"{path} describes a network with num_res={num_res} and width={width}; a MIMO-UNet has "
                           f"1 to {MAX_NUM_RES} blocks per stage and a width of 1 to {MAX_WIDTH}")


def _load_official(path: Path) -> LoadedNetwork:
    state_dict = _read_official_state_dict(path)
    variant = resembled_variant(state_dict)
    num_res = _count_res_blocks(state_dict) or VARIANTS[variant]["num_res"]
    width = _width_of(state_dict) or VARIANTS[variant]["width"]
    _check_size(path, num_res, width)
    _check_shapes(_meta_network(variant, num_res=num_res, width=width), state_dict, path, variant)
    network = build_network(variant, num_res=num_res, width=width)
    _load_strict(network, state_dict, path, variant)
    return LoadedNetwork(network.eval(), variant, num_res, width, "official")


def _read_official_state_dict(path: Path) -> dict[str, torch.Tensor]:
    import pickle

    try:
        checkpoint = torch.load(path, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as error:
        raise WeightsError(f"{path} is not a plain PyTorch checkpoint: it holds objects other than tensors, which "
                           f"are never executed ({str(error).splitlines()[0]})") from error
    except Exception as error:  # torch raises RuntimeError, EOFError, zipfile errors ... for foreign files
        raise WeightsError(f"{path} is not a PyTorch checkpoint or a cnaps safetensors file "
                           f"({type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''})") from error
    state_dict = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state_dict, dict) or not state_dict or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()):
        raise WeightsError(f"{path} is a PyTorch file but not a MIMO-UNet checkpoint: expected {{'model': state_dict}}"
                           f" or a state_dict of tensors")
    if all(key.startswith("module.") for key in state_dict):
        state_dict = {key.removeprefix("module."): value for key, value in state_dict.items()}
    return state_dict


def official_keys(variant: str) -> dict[str, tuple[int, ...]]:
    """The official state_dict keys and shapes of ``variant``, from the network definition itself."""
    return {key: tuple(value.shape) for key, value in _meta_network(variant).state_dict().items()}


def _meta_network(variant: str, **overrides: int) -> MIMOUNet:
    with torch.device("meta"):
        return build_network(variant, **overrides)


def resembled_variant(state_dict: dict[str, torch.Tensor]) -> str:
    """The official variant whose key set overlaps ``state_dict`` the most."""
    keys = set(state_dict)
    return max(VARIANTS, key=lambda variant: (len(keys & set(official_keys(variant))),
                                              -len(keys ^ set(official_keys(variant)))))


def _count_res_blocks(state_dict: dict[str, torch.Tensor]) -> int:
    indices = {int(m.group(1)) for key in state_dict if (m := re.match(r"Encoder\.0\.layers\.(\d+)\.", key))}
    return max(indices) + 1 if indices else 0


def _width_of(state_dict: dict[str, torch.Tensor]) -> int:
    weight = state_dict.get("feat_extract.0.main.0.weight")
    return int(weight.shape[0]) if weight is not None and weight.ndim == 4 else 0


def _load_strict(network: MIMOUNet, state_dict: dict[str, torch.Tensor], path: Path, described: str) -> None:
    _check_shapes(network, state_dict, path, described)
    network.load_state_dict(state_dict, strict=True)


def _check_shapes(network: MIMOUNet, state_dict: dict[str, torch.Tensor], path: Path, described: str) -> None:
    expected = {key: tuple(value.shape) for key, value in network.state_dict().items()}
    problems = mismatch_report(expected, state_dict)
    if problems:
        raise WeightsError(f"{path} does not fit {described}; it most resembles "
                           f"{resembled_variant(state_dict)}: {problems}")


def mismatch_report(expected: dict[str, tuple[int, ...]], state_dict: dict[str, torch.Tensor]) -> str:
    """A one-line summary of missing, unexpected and mis-shaped keys ('' when ``state_dict`` fits)."""
    missing = [key for key in expected if key not in state_dict]
    unexpected = [key for key in state_dict if key not in expected]
    shapes = [f"{key} {tuple(state_dict[key].shape)} != {expected[key]}"
              for key in expected if key in state_dict and tuple(state_dict[key].shape) != expected[key]]
    parts = [f"{label} {len(items)} ({', '.join(items[:_LISTED])}{', ...' if len(items) > _LISTED else ''})"
             for label, items in (("missing", missing), ("unexpected", unexpected), ("wrong shape", shapes)) if items]
    return "; ".join(parts)
