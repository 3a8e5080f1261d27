"""Restoration speed and memory: plain eager MIMO-UNet against cnaps-agent's restorer, side by side.

Both run the official-size MIMO-UNet (seeded random weights) in fp32 in one process, alternating
call by call so that load from other processes hits both alike; the ratio of medians is the speed-up.
Ours runs untiled and with the default tile plan (which tiles only when the image would not fit in half
the available memory, so at 1280x720 it is usually the untiled run). The blur estimate and acceptance
check are timed against a 1280x720 restore with the shipped default preset.
Peak RSS is measured in a fresh subprocess per configuration.  ``--big`` also restores 3840x2160 with
the default tile plan (full-size MIMO-UNet and the shipped lite preset; ``CNAPS_MEMORY_MIB=2048`` plans for
a 2 GiB budget) and reports peak RSS, and
``--tiling`` reports PSNR(tiled, untiled).

    python benchmarks/restore_speed.py [--sizes 1280x720,512x512] [--repeats 2] [--big] [--tiling TILE]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from tools.checkpoints import LoadedNetwork  # noqa: E402
from tools.inference import Restorer, TilePlan, available_memory_bytes, configure_threads  # noqa: E402
from tools.mimo_unet import MIMOUNet, build_network  # noqa: E402

DEFAULT_SIZES = "1280x720"


def official_size_network(seed: int = 0) -> MIMOUNet:
    """MIMO-UNet (num_res=8, width=32) with seeded default-initialised weights, in eval mode."""
    torch.manual_seed(seed)
    return build_network("MIMO-UNet").eval()


def ours(network: MIMOUNet) -> Restorer:
    """cnaps-agent's restorer around ``network`` (a copy, so the eager reference stays untouched)."""
    twin = build_network("MIMO-UNet")
    twin.load_state_dict(network.state_dict())
    return Restorer(LoadedNetwork(twin.eval(), "MIMO-UNet", twin.num_res, twin.width, "benchmark"), device="cpu")


def plain_eager(network: MIMOUNet, image: torch.Tensor) -> torch.Tensor:
    """The official evaluation's way: eval mode, no_grad, NCHW, last output."""
    with torch.no_grad():
        return network(image)[-1]


def parse_size(text: str) -> tuple[int, int]:
    """'1280x720' -> (height 720, width 1280)."""
    width, height = (int(part) for part in text.lower().split("x"))
    return height, width


def speed(sizes: list[tuple[int, int]], repeats: int) -> None:
    """Interleaved timing of eager, ours untiled and ours with the default tile plan at each size; prints
    medians, ratios to eager and the largest difference from eager."""
    network = official_size_network()
    restorer = ours(network)
    print(f"threads: {torch.get_num_threads()}, fused oneDNN path: {restorer.fused is not None}, "
          f"available memory {available_memory_bytes() / 2**30:.1f} GiB")
    for height, width in sizes:
        image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(height * width))
        default = restorer.plan(height, width)
        runs = {"eager": lambda: plain_eager(network, image),
                "untiled": lambda: restorer.restore(image, TilePlan(0, 0))}
        if default.tile:  # the default plan differs from untiled only when it tiles
            runs["default"] = lambda: restorer.restore(image, default)
        reference = plain_eager(network, image).clamp(0, 1)
        difference = max((reference - run()).abs().max().item() for name, run in runs.items() if name != "eager")
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(repeats):
            for name, run in runs.items():
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
        medians = {name: statistics.median(values) for name, values in times.items()}
        plan = (f"default plan: {len(default.boxes(height, width))} tiles of {default.tile} px" if default.tile
                else "default plan: untiled")
        shown = ", ".join(f"{name} {value:.2f} s" + ("" if name == "eager" else
                                                      f" ({medians['eager'] / value:.2f}x eager)")
                          for name, value in medians.items())
        print(f"{width}x{height} ({plan}): {shown}; max |ours - eager| {difference:.2e}", flush=True)


def checks_overhead(size: tuple[int, int], repeats: int) -> None:
    """Time of the blur estimate and acceptance check against the restoration itself (shipped default preset)."""
    import numpy as np

    from tools.quality import assess_restoration, estimate_blur
    from tools.restore import restore_array

    height, width = size
    rgb = np.random.default_rng(4).random((height, width, 3), dtype=np.float32)
    restored = restore_array(rgb)  # loads the weights once, outside the timing
    restore_times, check_times = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        restored = restore_array(rgb)
        restore_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        assess_restoration(rgb, restored, blur_before=estimate_blur(rgb).score)
        check_times.append(time.perf_counter() - started)
    restore_s, checks_s = statistics.median(restore_times), statistics.median(check_times)
    print(f"checks at {width}x{height} (default preset): restore {restore_s:.2f} s, blur estimate + acceptance "
          f"check {checks_s:.3f} s = {100 * checks_s / restore_s:.1f}% of the restore", flush=True)


def bf16_cost(size: tuple[int, int]) -> None:
    """Speed and PSNR cost of the opt-in bf16 mode, where the CPU supports it."""
    import math

    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        print("bf16: this CPU has no AVX512-BF16/AMX, so the bf16 mode is unavailable here")
        return
    network = official_size_network()
    fp32, bf16 = ours(network), Restorer(ours(network).loaded, device="cpu", bf16=True)
    image = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(2))
    times = {}
    for label, restorer in (("fp32", fp32), ("bf16", bf16), ("fp32 ", fp32), ("bf16 ", bf16)):
        started = time.perf_counter()
        output = restorer.forward(image).clamp(0, 1)
        times[label.strip()] = (time.perf_counter() - started, output)
    mse = torch.mean((times["fp32"][1] - times["bf16"][1]) ** 2).item()
    print(f"bf16 at {size[1]}x{size[0]}: {times['fp32'][0] / times['bf16'][0]:.2f}x the fp32 speed, "
          f"PSNR(bf16, fp32) {10 * math.log10(1 / mse):.1f} dB")


def child_peak_rss(mode: str, size: str, extra: list[str] | None = None) -> dict:
    """Run one configuration in a fresh interpreter and return its JSON report (peak RSS in MiB)."""
    command = [sys.executable, __file__, "--child", mode, "--sizes", size, *(extra or [])]
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: Linux carries that across
    exec, so a child forked from this (by then large) benchmark would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(mode: str, size: tuple[int, int], preset: str | None) -> None:
    """Child process body: one restoration, then print seconds and peak RSS as JSON."""
    configure_threads()
    height, width = size
    image = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(1))
    if preset:
        from tools.restore import get_restorer

        _, restorer = get_restorer(preset)
    else:
        network = official_size_network()
        restorer = None if mode == "eager" else ours(network)
    started = time.perf_counter()
    if mode == "eager":
        plain_eager(network, image)
        tiles = 1
    else:
        plan = restorer.plan(height, width, 0 if mode == "untiled" else None)
        tiles = len(plan.boxes(height, width))
        restorer.restore(image, plan)
    peak_mib = peak_rss_mib()
    print(json.dumps({"mode": mode, "seconds": round(time.perf_counter() - started, 2), "tiles": tiles,
                      "peak_rss_mib": round(peak_mib)}))


def memory(sizes: list[str]) -> None:
    """Peak RSS of eager and ours (untiled) at each size, each in its own process."""
    for size in sizes:
        eager, untiled = child_peak_rss("eager", size), child_peak_rss("untiled", size)
        print(f"{size}: peak RSS eager {eager['peak_rss_mib']} MiB, ours {untiled['peak_rss_mib']} MiB", flush=True)


def big() -> None:
    """3840x2160 with the default tile plan (full-size MIMO-UNet and the shipped lite preset), planned from the
    free memory or from ``CNAPS_MEMORY_MIB`` when set; peak RSS against that budget."""
    budget_mib = available_memory_bytes() / 2**20
    for label, extra in (("MIMO-UNet (width 32)", []), ("cnaps-lite preset", ["--preset", "cnaps-lite"])):
        report = child_peak_rss("tiled", "3840x2160", extra)
        verdict = "within" if report["peak_rss_mib"] < budget_mib else "OVER"
        print(f"3840x2160 {label}: {report['tiles']} tiles, {report['seconds']} s, peak RSS "
              f"{report['peak_rss_mib']} MiB ({verdict} the {budget_mib:.0f} MiB budget)", flush=True)


def tiling(size: tuple[int, int], tile: int) -> None:
    """PSNR between tiled and untiled restoration of a smooth-plus-detail test image."""
    import math

    network = official_size_network()
    restorer = ours(network)
    height, width = size
    y, x = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    pattern = torch.stack([0.5 + 0.4 * torch.sin(12 * x + 5 * y), 0.5 + 0.4 * torch.cos(9 * y), x * y])[None]
    image = (pattern + 0.05 * torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(3))).clamp(0, 1)
    whole = restorer.restore(image, TilePlan(0, 0))
    default = restorer.plan(height, width, tile)
    tiled = restorer.restore(image, default)
    mse = torch.mean((whole - tiled) ** 2).item()
    print(f"{width}x{height}, tile {default.tile}, overlap {default.overlap}: PSNR(tiled, untiled) "
          f"{10 * math.log10(1 / mse) if mse > 0 else float('inf'):.1f} dB", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=DEFAULT_SIZES, help="comma-separated WxH list")
    parser.add_argument("--repeats", type=int, default=2, help="timed calls per path and size")
    parser.add_argument("--no-memory", action="store_true", help="skip the per-configuration peak RSS runs")
    parser.add_argument("--big", action="store_true", help="also check 3840x2160 peak RSS with tiling")
    parser.add_argument("--tiling", type=int, default=0, metavar="TILE", help="report PSNR(tiled, untiled) "
                                                                               "at 1280x720 with this tile")
    parser.add_argument("--child", choices=["eager", "untiled", "tiled"], help=argparse.SUPPRESS)
    parser.add_argument("--preset", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child, parse_size(args.sizes), args.preset)
        return
    configure_threads()
    speed([parse_size(size) for size in args.sizes.split(",")], args.repeats)
    checks_overhead((720, 1280), args.repeats)
    bf16_cost((256, 256))
    if not args.no_memory:
        memory(args.sizes.split(","))
    if args.tiling:
        tiling((720, 1280), args.tiling)
    if args.big:
        big()


if __name__ == "__main__":
    main()
