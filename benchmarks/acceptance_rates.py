"""Error rates of the blur estimate + acceptance check on synthetic pairs with known ground truth.

One seeded crop per held-aside sharp photo (the file-name prefixes the trainer keeps out of training:
bsds500-test_, kodak24_), degraded in turn by the realistic pipeline, the uniform-kernel pipeline, or not at
all; the default weights restore it. Prints how often an output that lowered PSNR would be handed back
(false accept) and how often one that raised it would not (false reject), per degradation kind and overall.

    python benchmarks/acceptance_rates.py [--photos ../shared/datasets/sharp] [--count 223] [--csv rows.csv]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.acceptance_rates import Rates, measure_pairs, rates  # noqa: E402

DEFAULT_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sharp"


def held_aside(folder: Path, prefixes: tuple[str, ...]) -> list[Path]:
    """Photos in ``folder`` whose names start with one of ``prefixes``, sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.startswith(prefixes))


def describe(label: str, summary: Rates) -> str:
    """One printed line of rates."""
    return (f"{label:<10} pairs {summary.pairs:>3} | false accepts {summary.false_accepts}/{summary.lowered} "
            f"({summary.false_accept_rate:.1%}) | false rejects {summary.false_rejects}/{summary.raised} "
            f"({summary.false_reject_rate:.1%}) | worst kept {summary.worst_kept:+.2f} dB | mean change: "
            f"always apply {summary.mean_change_always:+.2f} dB, with the checks {summary.mean_change_checked:+.2f} dB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS, help="folder of sharp photographs")
    parser.add_argument("--prefixes", default="bsds500-test_,kodak24_", help="comma-separated file-name prefixes")
    parser.add_argument("--count", type=int, default=0, help="use only the first N photos (0: all)")
    parser.add_argument("--crop", type=int, default=256, help="crop side in pixels")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default=None, help="weights preset or file (default: the shipped default)")
    parser.add_argument("--csv", type=Path, help="also write every pair's measures here")
    args = parser.parse_args()
    photos = held_aside(args.photos, tuple(args.prefixes.split(",")))
    photos = photos[:args.count] if args.count else photos
    started = time.perf_counter()
    outcomes = measure_pairs(photos, seed=args.seed, crop=args.crop, preset=args.preset,
                             progress=lambda done, total: print(f"\r{done}/{total}", end="", file=sys.stderr))
    print(f"\n{len(outcomes)} pairs in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if args.csv:
        with args.csv.open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(outcomes[0].as_row()))
            writer.writeheader()
            writer.writerows(outcome.as_row() for outcome in outcomes)
    for kind in sorted({outcome.kind for outcome in outcomes}):
        print(describe(kind, rates([o for o in outcomes if o.kind == kind])))
    print(describe("all", rates(outcomes)))
    print(describe("all, 0.05", rates(outcomes, margin=0.05)) + "  (changes within +-0.05 dB count as neither)")


if __name__ == "__main__":
    main()
