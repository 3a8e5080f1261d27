"""Restoration throughput of one folder: the old loop, the local engine, and Ray with 1 and 2 workers.

Every configuration restores the same images with the same weights into a fresh folder (nothing skipped) and
the script prints images per minute side by side, with the ratio to the local engine.  The network runs on
every image (``keep_output``: the acceptance check's verdict does not decide whether it runs).  ``today`` is the loop
`cnaps restore` ran before the engine layer (``restore_file`` per image); it and ``local`` run twice,
interleaved, after a warm-up, and the better of each is kept.  The Ray figures include starting the actors and
loading the network in each (what a command pays); starting Ray itself is printed apart.  Ray checks that its
files are byte-identical to the local engine's.

    python benchmarks/batch_throughput.py [--images DIR] [--count 8] [--weights cnaps-lite] [--cpus 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT_IMAGES = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sharp"


def blurred_images(source: Path, count: int, folder: Path, seed: int = 7) -> list[Path]:
    """The first ``count`` BSDS500 test photographs (481x321) of ``source``, blurred with the training recipe's
    camera shake (fixed seed) and saved as PNG in ``folder``."""
    import numpy as np
    from PIL import Image

    from tools.training.blur import blur_whole_image

    chosen = sorted(source.glob("bsds500-test_*"))[:count] or sorted(source.glob("*.png"))[:count]
    if len(chosen) < count:
        raise SystemExit(f"{source} has fewer than {count} images; pass --images")
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    paths = []
    for image in chosen:
        with Image.open(image) as opened:
            sharp = np.asarray(opened.convert("RGB"), dtype=np.float32) / 255.0
        blurry = np.clip(blur_whole_image(sharp, rng), 0, 1)
        paths.append(folder / f"{image.stem}.png")
        Image.fromarray(np.round(blurry * 255).astype(np.uint8)).save(paths[-1])
    return paths


def run_today(images: list[Path], out: Path, weights: str) -> float:
    """The pre-engine loop: ``restore_file`` on each image, in order; returns seconds."""
    from tools.restore import restore_file

    started = time.perf_counter()
    for image in images:
        restore_file(image, out, preset=weights, device="cpu", keep_output=True)
    return time.perf_counter() - started


def run_engine(engine, images: list[Path], out: Path, weights: str) -> float:
    """``cnaps restore``'s engine path (manifest, atomic writes, summary) on ``engine``; returns seconds."""
    from agent.engine.restore_job import restore_many

    settings = {"preset": weights, "tile": None, "device": "cpu", "bf16": None, "keep_output": True}
    started = time.perf_counter()
    outcomes = restore_many(engine, [(image, image.name, None) for image in images], out, settings, compare=False)
    seconds = time.perf_counter() - started
    failed = [outcome for _, outcome in outcomes if isinstance(outcome, str)]
    if failed:
        raise SystemExit(f"restoration failed: {failed[0]}")
    return seconds


def same_files(first: Path, second: Path) -> bool:
    """Whether two output folders hold byte-identical images."""
    names = sorted(path.name for path in first.iterdir() if path.suffix in (".png", ".jpg"))
    return bool(names) and all((first / name).read_bytes() == (second / name).read_bytes() for name in names)


def main() -> None:
    """Run every configuration once (today and local twice) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--weights", default="cnaps-lite")
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the local Ray instance")
    arguments = parser.parse_args()

    import ray

    from agent.engine.local import LocalEngine
    from agent.engine.ray_engine import RayEngine
    from tools.restore import get_restorer

    work = Path(tempfile.mkdtemp(prefix="cnaps-throughput-"))
    images = blurred_images(arguments.images, arguments.count, work / "in")
    get_restorer(arguments.weights, "cpu")  # warm-up: the in-process loops do not pay the load
    run_today(images[:1], work / "warm", arguments.weights)
    seconds: dict[str, float] = {}
    for round_number in range(2):
        for name, runner in (("today", lambda out: run_today(images, out, arguments.weights)),
                             ("local", lambda out: run_engine(LocalEngine(), images, out, arguments.weights))):
            took = runner(work / f"{name}{round_number}")
            seconds[name] = min(seconds.get(name, took), took)
    started = time.perf_counter()
    ray.init(num_cpus=arguments.cpus, include_dashboard=False, log_to_driver=False)
    ray_start = time.perf_counter() - started
    identical = {}
    # Workers compute with the local engine's thread count (byte-identical files); the last row gives each of
    # two workers one thread instead (no oversubscription, files equal to a local run with CNAPS_THREADS=1).
    for workers, threads, name in ((1, "", "ray x1"), (2, "", "ray x2"), (2, "1", "ray x2 1thr")):
        os.environ["CNAPS_THREADS"] = threads
        with RayEngine(workers=workers) as engine:
            seconds[name] = run_engine(engine, images, work / name.replace(" ", "_"), arguments.weights)
        identical[name] = same_files(work / "local0", work / name.replace(" ", "_")) if not threads else "-"
    os.environ.pop("CNAPS_THREADS")
    ray.shutdown()
    rerun = run_engine(LocalEngine(), images, work / "local0", arguments.weights)  # every image skipped

    print(f"{len(images)} images ({arguments.weights}, cpu, {arguments.cpus} CPUs); Ray start {ray_start:.1f} s")
    print(f"{'configuration':<14}{'seconds':>9}{'images/min':>12}{'vs local':>10}{'s/image':>9}  same bytes as local")
    for name, took in seconds.items():
        print(f"{name:<14}{took:>9.1f}{60 * len(images) / took:>12.1f}{seconds['local'] / took:>9.2f}x"
              f"{took / len(images):>9.2f}  {identical.get(name, '-')}")
    print(f"re-run of a finished folder (every image checked against the manifest and skipped): {rerun:.2f} s")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
