"""Running a loaded MIMO-UNet fast: device and thread set-up, the fused CPU path, optional bf16, and tiling.

Tiled inference cuts a large image into overlapping tiles, restores each, and blends them with weights
that ramp smoothly (raised cosine) across every overlap, so seams vanish and peak memory depends on the
tile, not the image.  By default an image is tiled only when restoring it whole would not fit in half the
available memory (system memory, or the GPU's free memory); tile size and overlap then follow from the
network's width and that memory.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable

import torch

from tools.checkpoints import LoadedNetwork
from tools.errors import RestorationError
from tools.fused import FusedMIMOUNet, fused_path_available

#: Peak activation bytes per pixel per unit of network width (peak RSS over the loaded model), measured with
#: fresh processes at 512x512 and 1280x720, widths 16 and 32, 8 and 20 blocks (the block count does not
#: matter: blocks run one after another): the fused CPU path needs 30-58, the plain path (bf16, GPU, no oneDNN)
#: 86-87. The model takes the largest, plus ~25%.
BYTES_PER_PIXEL_PER_WIDTH = {"fused": 72, "plain": 108}
#: Share of the available memory one restoration may plan to use: the rest is for the process itself, the
#: allocator's slack and whatever else runs.
MEMORY_SHARE = 0.5
_TILE_STEP = 64
_MIN_TILE = 64


@dataclass(frozen=True)
class TilePlan:
    """How an image is cut: square tiles of ``tile`` pixels overlapping by ``overlap`` (tile 0: one pass).

    ``note`` says, for the user, why the plan differs from the tile size that was asked for (else empty).
    """

    tile: int
    overlap: int
    note: str = field(default="", compare=False)

    def boxes(self, height: int, width: int) -> list[tuple[int, int, int, int]]:
        """(top, left, bottom, right) of every tile, covering the image, in row order."""
        if self.tile <= 0 or (height <= self.tile and width <= self.tile):
            return [(0, 0, height, width)]
        return [(top, left, min(top + self.tile, height), min(left + self.tile, width))
                for top in _starts(height, self.tile, self.overlap)
                for left in _starts(width, self.tile, self.overlap)]


def _starts(length: int, tile: int, overlap: int) -> list[int]:
    if length <= tile:
        return [0]
    count = math.ceil((length - overlap) / (tile - overlap))
    step = (length - tile) / (count - 1)
    return [round(index * step) for index in range(count)]


def available_memory_bytes() -> int:
    """Memory this process can still use: MemAvailable, capped by a cgroup limit and by ``CNAPS_MEMORY_MIB``
    (a budget for restoration, e.g. per server worker) when they are set."""
    available = _system_available()
    configured = configured_memory_bytes()
    if configured is not None:
        available = min(available, configured)
    return available


def configured_memory_bytes() -> int | None:
    """The operator's restoration memory budget from ``CNAPS_MEMORY_MIB`` in bytes, or None when unset."""
    configured = os.environ.get("CNAPS_MEMORY_MIB", "").strip()
    return int(configured) * 2**20 if configured.isdigit() and int(configured) > 0 else None


def _system_available() -> int:
    """MemAvailable (8 GiB when unknown), capped by a cgroup limit when one is set."""
    available = 8 * 2**30
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    available = int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as limit:
            text = limit.read().strip()
        if text.isdigit():
            available = min(available, int(text))
    except OSError:
        pass
    return available


def plan_tiles(height: int, width: int, network_width: int, tile: int | None = None,
               available: int | None = None, bytes_per_pixel_per_width: int | None = None) -> TilePlan:
    """The tile plan for an image: ``tile`` when given (0 disables tiling), else chosen from memory.

    Untiled whenever the whole image fits in ``MEMORY_SHARE`` of the available memory (tiling costs time:
    overlaps are computed twice); otherwise the largest square tile that fits.  When the operator set a memory
    budget (``CNAPS_MEMORY_MIB``), ``tile=0`` is honoured only if the whole image fits in it: otherwise the plan
    falls back to tiles that fit, and its ``note`` says so (a client must not be able to spend past the budget).

    Args:
        network_width: the network's base channel count; activation memory grows linearly with it.
        available: bytes of free memory (read from the system when None).
        bytes_per_pixel_per_width: the path's memory need (default: the fused CPU path's).
    """
    if tile is not None and tile < 0:
        raise RestorationError(f"tile size must be 0 (no tiling) or at least {_MIN_TILE}, got {tile}")
    if tile is not None and 0 < tile < _MIN_TILE:
        raise RestorationError(f"tile size {tile} is too small to restore well; use at least {_MIN_TILE}")
    configured = configured_memory_bytes()
    if tile == 0 and configured is not None:
        within = min(available, configured) if available else None  # a GPU's free memory, capped by the budget
        chosen = plan_tiles(height, width, network_width, None, within, bytes_per_pixel_per_width)
        if chosen.tile == 0:
            return chosen
        return TilePlan(chosen.tile, chosen.overlap,
                        f"no tiling (tile 0) was asked for, but the whole {width}x{height} image does not fit the "
                        f"server's memory budget (CNAPS_MEMORY_MIB={configured // 2**20}); restored in "
                        f"{chosen.tile}-pixel tiles instead")
    if tile is None:
        budget = (available or available_memory_bytes()) * MEMORY_SHARE
        per_pixel = (bytes_per_pixel_per_width or BYTES_PER_PIXEL_PER_WIDTH["fused"]) * network_width
        if height * width * per_pixel <= budget:
            return TilePlan(0, 0)
        side = int(math.sqrt(budget / per_pixel)) // _TILE_STEP * _TILE_STEP
        tile = max(_MIN_TILE, side)
    overlap = min(128, max(32, tile // 4 // 8 * 8))
    return TilePlan(tile, overlap if tile else 0)


def _ramp(length: int, before: int, after: int) -> torch.Tensor:
    """Blend weights along one axis: raised-cosine rise over ``before`` pixels and fall over ``after``."""
    weights = torch.ones(length)
    for size, flip in ((before, False), (after, True)):
        if size > 0:
            rise = 0.5 - 0.5 * torch.cos(math.pi * (torch.arange(size) + 0.5) / size)
            if flip:
                weights[-size:] = torch.minimum(weights[-size:], rise.flip(0))
            else:
                weights[:size] = torch.minimum(weights[:size], rise)
    return weights


def _tile_weights(overlap: int, box: tuple[int, int, int, int], height: int, width: int) -> torch.Tensor:
    """(h, w) blend weights of one tile: ramps only on sides that border another tile."""
    top, left, bottom, right = box
    rows = _ramp(bottom - top, overlap if top > 0 else 0, overlap if bottom < height else 0)
    columns = _ramp(right - left, overlap if left > 0 else 0, overlap if right < width else 0)
    return rows[:, None] * columns


class Restorer:
    """A network ready to restore images on one device, in fp32 (or opt-in bf16 on capable CPUs and GPUs)."""

    def __init__(self, loaded: LoadedNetwork, device: str | None = None, bf16: bool = False, fused: bool = True):
        self.loaded = loaded
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.bf16 = bf16
        if bf16 and not _bf16_supported(self.device):
            raise RestorationError("bf16 mode needs a CPU with AVX512-BF16 or AMX, or a GPU with bfloat16; "
                                   "run without --bf16")
        network = loaded.network.eval().to(self.device)
        self.network = network.to(memory_format=torch.channels_last)
        self.fused = (FusedMIMOUNet(network) if fused and not bf16 and self.device.type == "cpu"
                      and fused_path_available() else None)

    @property
    def width(self) -> int:
        """The network's base channel count."""
        return self.loaded.width

    def plan(self, height: int, width: int, tile: int | None = None) -> TilePlan:
        """The tile plan for an image on this restorer's path and device (see ``plan_tiles``)."""
        path = "fused" if self.fused is not None else "plain"
        available = None
        if self.device.type == "cuda":
            available = torch.cuda.mem_get_info(self.device)[0]
        return plan_tiles(height, width, self.width, tile, available, BYTES_PER_PIXEL_PER_WIDTH[path])

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """Restore a (1,3,H,W) float tensor in [0,1] without tiling; the result is on the CPU, unclamped."""
        with torch.inference_mode():
            x = image.to(self.device).contiguous(memory_format=torch.channels_last)
            if self.fused is not None:
                return self.fused(x).cpu()
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16):
                return self.network(x)[-1].float().cpu()

    def restore(self, image: torch.Tensor, plan: TilePlan,
                progress: Callable[[int, int], None] | None = None) -> torch.Tensor:
        """Restore a (1,3,H,W) image tile by tile per ``plan``, blending overlaps; returns it clamped to [0,1]."""
        with torch.inference_mode():
            return self._restore_tiles(image, plan, progress)

    def _restore_tiles(self, image: torch.Tensor, plan: TilePlan,
                       progress: Callable[[int, int], None] | None) -> torch.Tensor:
        height, width = image.shape[-2:]
        boxes = plan.boxes(height, width)
        if progress:
            progress(0, len(boxes))  # the total is known before the first, possibly long, tile
        if len(boxes) == 1:
            result = self.forward(image)
            if progress:
                progress(1, 1)
            return result.clamp_(0, 1)
        total = torch.zeros(1, 3, height, width)
        weight_sum = torch.zeros(1, 1, height, width)
        for done, (top, left, bottom, right) in enumerate(boxes, start=1):
            restored = self.forward(image[..., top:bottom, left:right])
            weights = _tile_weights(plan.overlap, (top, left, bottom, right), height, width)
            total[..., top:bottom, left:right] += restored * weights
            weight_sum[..., top:bottom, left:right] += weights
            del restored
            if progress:
                progress(done, len(boxes))
        return total.div_(weight_sum).clamp_(0, 1)


def _bf16_supported(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return device.type == "cpu" and torch.ops.mkldnn._is_mkldnn_bf16_supported()


def configure_threads() -> int:
    """Use every core this process may run on (or ``CNAPS_THREADS``) for torch; returns the count."""
    wanted = os.environ.get("CNAPS_THREADS", "")
    threads = int(wanted) if wanted.isdigit() and int(wanted) > 0 else len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)
    return threads
