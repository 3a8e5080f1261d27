"""The fused CPU path equals the network; tile plans cover the image and blend without visible seams."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from tools.checkpoints import load_network
from tools.errors import RestorationError
from tools.fused import FusedMIMOUNet, fused_path_available
from tools.inference import BYTES_PER_PIXEL_PER_WIDTH, MEMORY_SHARE, Restorer, TilePlan, plan_tiles
from tools.mimo_unet import build_network
from tools.presets import resolve_weights

TINY = Path(__file__).parent / "fixtures" / "tiny_mimo_unet.safetensors"


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return 10 * math.log10(1 / torch.mean((a - b) ** 2).item())


@pytest.mark.skipif(not fused_path_available(), reason="torch built without oneDNN")
@pytest.mark.parametrize("size", [(64, 96), (37, 50)])
def test_fused_path_equals_the_network(size):
    torch.manual_seed(0)
    network = build_network("MIMO-UNet", num_res=2, width=8).eval()
    image = torch.rand(1, 3, *size)
    with torch.inference_mode():
        expected = network(image)[-1]
        actual = FusedMIMOUNet(network)(image)
    assert actual.shape == expected.shape
    assert (actual - expected).abs().max().item() < 1e-5


def test_images_are_tiled_only_when_memory_needs_it():
    assert plan_tiles(480, 640, network_width=16, available=16 * 2**30) == TilePlan(0, 0)
    # 720p on the official-size network needs ~2.1 GB: whole with 16 GiB free, tiled with 2 GiB free.
    assert plan_tiles(720, 1280, network_width=32, available=16 * 2**30) == TilePlan(0, 0)
    assert plan_tiles(720, 1280, network_width=32, available=2 * 2**30).tile > 0
    plan = plan_tiles(2160, 3840, network_width=32, available=16 * 2**30)
    assert 1024 <= plan.tile < 2160 and 32 <= plan.overlap < plan.tile // 2
    assert plan.tile**2 * BYTES_PER_PIXEL_PER_WIDTH["fused"] * 32 <= MEMORY_SHARE * 16 * 2**30  # a tile fits
    scarce = plan_tiles(2160, 3840, network_width=32, available=1 * 2**30)
    assert scarce.tile < plan.tile  # less memory, smaller tiles
    plain = plan_tiles(2160, 3840, network_width=32, available=16 * 2**30,
                       bytes_per_pixel_per_width=BYTES_PER_PIXEL_PER_WIDTH["plain"])
    assert plain.tile < plan.tile  # the unfused path needs more memory per pixel


def test_explicit_tile_sizes():
    assert plan_tiles(500, 500, 32, tile=0) == TilePlan(0, 0)
    assert plan_tiles(500, 500, 32, tile=256).tile == 256
    with pytest.raises(RestorationError, match="at least 64"):
        plan_tiles(500, 500, 32, tile=16)


@pytest.mark.parametrize("height, width, tile, overlap", [(300, 500, 128, 32), (128, 700, 256, 64), (90, 90, 64, 32)])
def test_tiles_cover_the_image_with_at_least_the_overlap(height, width, tile, overlap):
    boxes = TilePlan(tile, overlap).boxes(height, width)
    covered = torch.zeros(height, width, dtype=torch.int32)
    for top, left, bottom, right in boxes:
        assert bottom - top <= tile and right - left <= tile
        covered[top:bottom, left:right] += 1
    assert covered.min() >= 1
    lefts = sorted({box[1] for box in boxes})
    rights = sorted({box[3] for box in boxes})
    assert all(right - next_left >= overlap for right, next_left in zip(rights, lefts[1:]))


def test_progress_reports_every_tile():
    restorer = Restorer(load_network(TINY), device="cpu")
    calls = []
    restorer.restore(torch.rand(1, 3, 150, 200), TilePlan(96, 32), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(index, 6) for index in range(0, 7)]


@pytest.mark.slow
def test_tiled_equals_untiled_to_45_db_with_the_shipped_weights():
    restorer = Restorer(load_network(resolve_weights(None)[1]), device="cpu")
    y, x = torch.meshgrid(torch.linspace(0, 1, 256), torch.linspace(0, 1, 320), indexing="ij")
    image = torch.stack([0.5 + 0.4 * torch.sin(20 * x * y), 0.5 + 0.4 * torch.cos(15 * y), x])[None]
    image = (image + 0.1 * torch.rand(image.shape, generator=torch.Generator().manual_seed(1))).clamp(0, 1)
    whole = restorer.restore(image, TilePlan(0, 0))
    plan = plan_tiles(256, 320, restorer.width, tile=160)
    tiled = restorer.restore(image, plan)
    assert len(plan.boxes(256, 320)) > 1
    assert _psnr(whole, tiled) >= 45


def test_a_memory_budget_caps_what_the_plan_may_use(monkeypatch):
    from tools.inference import available_memory_bytes

    monkeypatch.setenv("CNAPS_MEMORY_MIB", "2048")
    assert available_memory_bytes() <= 2048 * 2**20
    assert plan_tiles(720, 1280, network_width=32).tile > 0  # 2.1 GB of activations do not fit in half of 2 GiB


def test_tile_0_is_honoured_only_within_the_operators_memory_budget(monkeypatch, tmp_path):
    """Issue 20, item 2: with CNAPS_MEMORY_MIB set, a client's tile=0 on an image whose activations exceed the
    budget falls back to tiles that fit (and says so); an image that fits stays untiled; without a budget tile=0
    is the user's own choice and is kept."""
    monkeypatch.setenv("CNAPS_MEMORY_MIB", "512")
    large = plan_tiles(800, 1200, network_width=32, tile=0)  # ~2.2 GB of activations against 512 MiB
    per_pixel = BYTES_PER_PIXEL_PER_WIDTH["fused"] * 32
    assert large.tile > 0 and large.tile**2 * per_pixel <= MEMORY_SHARE * 512 * 2**20  # each tile fits
    assert "CNAPS_MEMORY_MIB=512" in large.note and "tile 0" in large.note
    assert plan_tiles(200, 200, network_width=32, tile=0) == TilePlan(0, 0)  # ~92 MB: fits, untiled
    assert plan_tiles(200, 200, network_width=32, tile=0).note == ""
    # a GPU's free memory is capped by the budget too
    assert plan_tiles(800, 1200, network_width=32, tile=0, available=64 * 2**30).tile > 0
    restorer = Restorer(load_network(TINY), device="cpu")
    monkeypatch.setenv("CNAPS_MEMORY_MIB", "1")
    assert restorer.plan(200, 300, tile=0).tile > 0
    monkeypatch.delenv("CNAPS_MEMORY_MIB")
    assert plan_tiles(800, 1200, network_width=32, tile=0, available=2**30) == TilePlan(0, 0)

    from PIL import Image

    from tools.restore import restore_file

    source = tmp_path / "photo.png"
    Image.fromarray(torch.randint(0, 256, (160, 200, 3), dtype=torch.uint8).numpy()).save(source)
    monkeypatch.setenv("CNAPS_MEMORY_MIB", "1")
    result = restore_file(source, tmp_path / "out", preset=str(TINY), tile=0, keep_output=True)
    assert any("CNAPS_MEMORY_MIB=1" in note for note in result.notes)
