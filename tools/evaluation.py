"""Scoring restoration against sharp originals: PSNR and SSIM of input and output, per image and on average."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tools.errors import RestorationError
from tools.images import read_image
from tools.metrics import psnr, ssim
from tools.outcome import restoration_outcome
from tools.restore import restore_file


@dataclass
class PairScore:
    """Scores of one blurry/sharp pair before and after restoration."""

    name: str
    psnr_input: float
    psnr_output: float
    ssim_input: float
    ssim_output: float
    seconds: float
    applied: bool = True
    verdict: str = "improved"
    verdict_reason: str = ""
    blur_before: float | None = None
    blur_after: float | None = None
    preset: str = ""

    @property
    def outcome(self) -> str:
        """restored, unchanged or kept, as ``tools.outcome.restoration_outcome`` says for every interface."""
        return restoration_outcome(self.applied, self.verdict)


@dataclass
class EvaluationReport:
    """Every pair's scores and the preset that produced them."""

    preset: str
    rows: list[PairScore] = field(default_factory=list)

    def mean(self, attribute: str) -> float:
        """The mean of one ``PairScore`` attribute over all rows."""
        return sum(getattr(row, attribute) for row in self.rows) / len(self.rows)


def evaluate_pairs(pairs: list[tuple[Path, Path]], out_dir: Path, preset: str | None = None,
                   tile: int | None = None, device: str | None = None, bf16: bool | None = None,
                   keep_output: bool = False) -> EvaluationReport:
    """Restore each blurry image of ``pairs`` (blurry, sharp) into ``out_dir`` and score both against sharp.

    The output scored is what the tool hands back: the input itself where the acceptance check did not apply
    the network's output, unless ``keep_output`` (then the network itself is measured). ``device`` and ``bf16``
    are as for ``tools.restore.get_restorer``.
    """
    if not pairs:
        raise RestorationError("no blurry/sharp pairs to evaluate")
    report = EvaluationReport(preset="")
    for blurry, sharp in pairs:
        result = restore_file(blurry, out_dir, preset=preset, tile=tile, reference=sharp, device=device, bf16=bf16,
                              keep_output=keep_output)
        blurry_rgb, sharp_rgb = read_image(blurry).rgb, read_image(sharp).rgb
        report.preset = result.preset
        report.rows.append(PairScore(name=blurry.name, psnr_input=psnr(sharp_rgb, blurry_rgb),
                                     psnr_output=result.psnr, ssim_input=ssim(sharp_rgb, blurry_rgb),
                                     ssim_output=result.ssim, seconds=result.seconds, applied=result.applied,
                                     verdict=result.verdict, verdict_reason=result.verdict_reason,
                                     blur_before=result.blur_before, blur_after=result.blur_after,
                                     preset=result.preset))
    return report
