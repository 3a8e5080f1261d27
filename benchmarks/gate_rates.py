"""The acceptance check's rates on candidates of known quality, on pairs held aside from its calibration.

Pairs: seeded crops of sharp photographs degraded by the realistic and dynamic pipelines (inputs 21-36 dB against
their sharp crops: mild to strong blur, colour and grayscale, noisy and clean, JPEG); for each, the candidates of
``tools.gate_calibration`` (the sharp original, partial restorations with known gains, the default network's
output, and known-worse outputs: halos, ringing, grain, smoothing, level and colour shifts). The thresholds in
``tools.quality`` were calibrated on the *calibration* photos (BSDS500 train and val, McMaster, Urban100); the
rates that count are those of the *held-aside* photos (BSDS500 test, Kodak), which the calibration never saw.

    python benchmarks/gate_rates.py [--photos ../shared/datasets/sharp] [--split held-aside|calibration|both]
                                    [--crops 3] [--no-network] [--cache artifacts/gate] [--levin DIR]

Prints, per split: the sharp original accepted (target >= 99 %), candidates worse than their input by more than
0.05 dB accepted (target <= 1 %), candidates gaining >= 0.25 dB accepted (target >= 80 %), and the same per kind.
With ``--levin`` also the real camera-shake pairs of Levin et al. (sharp original and blends).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tools.gate_calibration import Candidate, gate_rates, measure_candidates  # noqa: E402

DEFAULT_PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "sharp"
SPLITS = {"held-aside": ("bsds500-test_", "kodak24_"),
          "calibration": ("bsds500-train_", "bsds500-val_", "mcmaster_", "urban100_")}


def photos_of(folder: Path, prefixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.startswith(prefixes))


def load_or_measure(split: str, photos: list[Path], crops: int, network, cache: Path | None,
                    seed: int) -> list[Candidate]:
    """The candidates of a split, from ``cache`` when it holds them (measures only; verdicts are recomputed)."""
    path = cache / f"{split}-seed{seed}-crops{crops}{'' if network else '-nonet'}.jsonl" if cache else None
    if path and path.exists():
        return [Candidate(**json.loads(line)) for line in path.read_text().splitlines()]
    started = time.perf_counter()
    rows = measure_candidates(photos, seed=seed, crops_per_photo=crops, network=network,
                              progress=lambda done, total: print(f"\r{split}: {done}/{total} pairs", end="",
                                                                 file=sys.stderr))
    print(f"\r{split}: {len(rows)} candidates in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps({k: v for k, v in vars(r).items()}) + "\n" for r in rows))
    return rows


def judge(rows: list[Candidate]) -> None:
    from tools.quality import accept_measures

    for row in rows:
        row.accepted = accept_measures(row.measures)[0]


def report(label: str, rows: list[Candidate]) -> None:
    summary = gate_rates(rows)
    pairs = len({r.pair for r in rows})
    print(f"{label}: {pairs} pairs, {len(rows)} candidates")
    print(f"  sharp original accepted (blur costs >= 1 dB): {summary.sharp_accepted}/{summary.sharp_total} "
          f"({summary.sharp_rate:.1%}; target >= 99 %)")
    print(f"  worse than the input by > 0.05 dB, accepted:  {summary.worse_accepted}/{summary.worse_total} "
          f"({summary.worse_rate:.2%}; target <= 1 %)")
    print(f"  gaining >= 0.25 dB, accepted:                 {summary.gaining_accepted}/{summary.gaining_total} "
          f"({summary.gaining_rate:.1%}; target >= 80 %)")
    by_kind: dict[str, list[Candidate]] = defaultdict(list)
    for row in rows:
        by_kind[row.kind].append(row)
    print(f"  {'kind':<14}{'n':>5}{'worse':>7}{'acc.':>6}{'gain>=.25':>10}{'acc.':>6}{'mean dB':>9}")
    for kind, group in by_kind.items():
        worse = [r for r in group if r.change < -0.05]
        gaining = [r for r in group if r.change >= 0.25]
        finite = [min(r.change, 30.0) for r in group]
        print(f"  {kind:<14}{len(group):>5}{len(worse):>7}{sum(bool(r.accepted) for r in worse):>6}"
              f"{len(gaining):>10}{sum(bool(r.accepted) for r in gaining):>6}{sum(finite) / len(finite):>+9.2f}")


def refit(rows: list[Candidate], max_level_ratio: float = 0.3, worse_share: float = 0.01) -> None:
    """Fit the model on the calibration candidates and write it with its threshold: the score above which at most
    ``worse_share`` of the calibration's worse candidates lie, each scored by a model fitted without its pair."""
    import numpy as np

    from tools.gate_model import MODEL_PATH, cross_validated_scores, export, fit

    scores = cross_validated_scores(rows)
    worse = np.array([row.change < -0.05 for row in rows])
    threshold = float(np.quantile(scores[worse], 1.0 - worse_share))
    notes = {"calibration_pairs": len({row.pair for row in rows}), "calibration_candidates": len(rows),
             "threshold_rule": f"{1 - worse_share:.0%} quantile of the cross-validated scores of worse candidates",
             "refit": "python benchmarks/gate_rates.py --fit --split both --cache artifacts/gate"}
    MODEL_PATH.write_text(json.dumps(export(fit(rows), threshold, max_level_ratio, notes), separators=(",", ":")))
    print(f"wrote {MODEL_PATH} (threshold {threshold:.3f})", file=sys.stderr)


def levin_rows(folder: Path, network) -> list[Candidate]:
    """Levin et al.'s real camera-shake pairs: the sharp original, two blends and (optionally) the network."""
    import numpy as np

    from tools.gate_calibration import _psnr
    from tools.images import read_image
    from tools.quality import restoration_measures

    rows = []
    for blurred in sorted(folder.glob("im*_kernel*_blur.png")):
        sharp = read_image(folder / blurred.name.replace(blurred.name.split("_")[1], "sharp").replace("_blur", "")).rgb
        blurry = read_image(blurred).rgb
        base = _psnr(sharp, blurry)
        candidates = {"sharp": sharp, "blend": blurry + 0.3 * (sharp - blurry), "blend_half": blurry + 0.5 * (sharp - blurry)}
        if network is not None:
            candidates["network"] = np.clip(network(blurry), 0, 1)
        for kind, candidate in candidates.items():
            rows.append(Candidate(pair=blurred.stem, kind=kind, input_psnr=round(base, 3),
                                  change=round(_psnr(sharp, candidate) - base, 4),
                                  measures=restoration_measures(blurry, candidate)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEFAULT_PHOTOS)
    parser.add_argument("--split", choices=("held-aside", "calibration", "both"), default="held-aside")
    parser.add_argument("--crops", type=int, default=3, help="seeded crops per photo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-network", action="store_true", help="leave out the default network's outputs")
    parser.add_argument("--cache", type=Path, help="folder that keeps measured candidates between runs")
    parser.add_argument("--levin", type=Path, help="folder of Levin et al.'s pairs (imN_sharp.png, imN_kernelK_blur.png)")
    parser.add_argument("--fit", action="store_true", help="refit the check's model on the calibration split and "
                                                           "write tools/gate_model.json (needs scikit-learn)")
    args = parser.parse_args()
    network = None
    if not args.no_network:
        from tools.restore import restore_array

        network = lambda rgb: restore_array(rgb, None, tile=0)  # noqa: E731
    if args.fit:
        refit(load_or_measure("calibration", photos_of(args.photos, SPLITS["calibration"]), 1, network, args.cache,
                              args.seed))
    splits = ("calibration", "held-aside") if args.split == "both" else (args.split,)
    for split in splits:
        rows = load_or_measure(split, photos_of(args.photos, SPLITS[split]), args.crops, network, args.cache,
                               args.seed)
        judge(rows)
        report(split, rows)
    if args.levin:
        rows = levin_rows(args.levin, network)
        judge(rows)
        report("levin (real camera shake)", rows)


if __name__ == "__main__":
    main()
