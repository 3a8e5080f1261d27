"""MIMO-UNet and MIMO-UNet+ (one network family).

Paper: Sung-Jin Cho, Seo-Won Ji, Jun-Pyo Hong, Seung-Won Jung, Sung-Jea Ko,
"Rethinking Coarse-to-Fine Approach in Single Image Deblurring", ICCV 2021.

Module names reproduce the official checkpoint layout exactly (``Encoder.0.layers.0.main.0.main.0.weight``
and so on), so official ``{"model": state_dict}`` files load with ``strict=True``.  The family is
parameterised by depth (``num_res`` residual blocks per encoder/decoder block) and width (``width``,
the channel count at full scale; the official networks use 32) so that smaller members can be trained
on a CPU.  ``forward`` pads any input to a multiple of 4 (reflect) and crops every output back.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: H and W must be multiples of this inside the network (two stride-2 stages).
SIZE_MULTIPLE = 4


class BasicConv(nn.Module):
    """Conv2d (or ConvTranspose2d) followed by an optional in-place ReLU, as ``main`` Sequential."""

    def __init__(self, in_ch: int, out_ch: int, kernel_size: int, stride: int = 1,
                 relu: bool = True, transpose: bool = False):
        super().__init__()
        if transpose:
            conv = nn.ConvTranspose2d(in_ch, out_ch, kernel_size, stride=stride,
                                      padding=kernel_size // 2 - 1)
        else:
            conv = nn.Conv2d(in_ch, out_ch, kernel_size, stride=stride, padding=kernel_size // 2)
        layers: list[nn.Module] = [conv]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x)


class ResBlock(nn.Module):
    """Two 3x3 convolutions (ReLU between) plus an identity skip; no ReLU after the sum."""

    def __init__(self, channels: int):
        super().__init__()
        self.main = nn.Sequential(BasicConv(channels, channels, 3), BasicConv(channels, channels, 3, relu=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + x


class ResStage(nn.Module):
    """``num_res`` ResBlocks at one width (the official EBlock and DBlock are this same block)."""

    def __init__(self, channels: int, num_res: int):
        super().__init__()
        self.layers = nn.Sequential(*[ResBlock(channels) for _ in range(num_res)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class SCM(nn.Module):
    """Shallow convolution module: features for a downscaled RGB input, concatenated with it."""

    def __init__(self, out_ch: int):
        super().__init__()
        self.main = nn.Sequential(
            BasicConv(3, out_ch // 4, 3),
            BasicConv(out_ch // 4, out_ch // 2, 1),
            BasicConv(out_ch // 2, out_ch // 2, 3),
            BasicConv(out_ch // 2, out_ch - 3, 1),
        )
        self.conv = BasicConv(out_ch, out_ch, 1, relu=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x, self.main(x)], dim=1))


class FAM(nn.Module):
    """Feature attention module: ``x1 + conv3x3(x1 * x2)``."""

    def __init__(self, channels: int):
        super().__init__()
        self.merge = BasicConv(channels, channels, 3, relu=False)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return x1 + self.merge(x1 * x2)


class AFF(nn.Module):
    """Asymmetric feature fusion of the three encoder scales, resampled to one scale."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv = nn.Sequential(BasicConv(in_ch, out_ch, 1), BasicConv(out_ch, out_ch, 3, relu=False))

    def forward(self, x1: torch.Tensor, x2: torch.Tensor, x4: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([x1, x2, x4], dim=1))


def _half(x: torch.Tensor) -> torch.Tensor:
    # The official code uses F.interpolate(scale_factor=0.5), nearest by default: exactly every other pixel.
    return x[..., ::2, ::2]


def _double(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class MIMOUNet(nn.Module):
    """Multi-input multi-output U-Net for single image deblurring.

    Args:
        num_res: ResBlocks per encoder/decoder stage (8 for MIMO-UNet, 20 for MIMO-UNet+).
        width: channels at full scale; 2x and 4x that at 1/2 and 1/4 scale (32 in the paper).
        dropout: Dropout2d probability on the two fused skips (0.1 in MIMO-UNet+, 0 in MIMO-UNet).
            It has no parameters, so it does not change the checkpoint layout.

    ``forward`` returns the three outputs coarse to fine ``[1/4, 1/2, full]``, each a residual added to
    the nearest-downsampled input; evaluation uses only the last.
    """

    def __init__(self, num_res: int = 8, width: int = 32, dropout: float = 0.0):
        super().__init__()
        w = width
        self.num_res, self.width, self.dropout = num_res, width, dropout
        self.Encoder = nn.ModuleList([ResStage(w, num_res), ResStage(w * 2, num_res), ResStage(w * 4, num_res)])
        self.feat_extract = nn.ModuleList([
            BasicConv(3, w, 3),
            BasicConv(w, w * 2, 3, stride=2),
            BasicConv(w * 2, w * 4, 3, stride=2),
            BasicConv(w * 4, w * 2, 4, stride=2, transpose=True),
            BasicConv(w * 2, w, 4, stride=2, transpose=True),
            BasicConv(w, 3, 3, relu=False),
        ])
        self.Decoder = nn.ModuleList([ResStage(w * 4, num_res), ResStage(w * 2, num_res), ResStage(w, num_res)])
        self.Convs = nn.ModuleList([BasicConv(w * 4, w * 2, 1), BasicConv(w * 2, w, 1)])
        self.ConvsOut = nn.ModuleList([BasicConv(w * 4, 3, 3, relu=False), BasicConv(w * 2, 3, 3, relu=False)])
        self.AFFs = nn.ModuleList([AFF(w * 7, w), AFF(w * 7, w * 2)])
        self.FAM1 = FAM(w * 4)
        self.SCM1 = SCM(w * 4)
        self.FAM2 = FAM(w * 2)
        self.SCM2 = SCM(w * 2)
        if dropout > 0:
            self.drop1 = nn.Dropout2d(dropout)
            self.drop2 = nn.Dropout2d(dropout)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        height, width = x.shape[-2:]
        x = _pad_to_multiple(x, SIZE_MULTIPLE)
        x_2 = _half(x)
        x_4 = _half(x_2)
        z2 = self.SCM2(x_2)
        z4 = self.SCM1(x_4)

        res1 = self.Encoder[0](self.feat_extract[0](x))
        z = self.FAM2(self.feat_extract[1](res1), z2)
        res2 = self.Encoder[1](z)
        z = self.FAM1(self.feat_extract[2](res2), z4)
        z = self.Encoder[2](z)

        z42 = _double(z)
        fused2 = self.AFFs[1](_half(res1), res2, z42)
        fused1 = self.AFFs[0](res1, _double(res2), _double(z42))
        if self.dropout > 0:
            fused2, fused1 = self.drop2(fused2), self.drop1(fused1)

        z = self.Decoder[0](z)
        out4 = self.ConvsOut[0](z) + x_4
        z = self.Convs[0](torch.cat([self.feat_extract[3](z), fused2], dim=1))
        z = self.Decoder[1](z)
        out2 = self.ConvsOut[1](z) + x_2
        z = self.Convs[1](torch.cat([self.feat_extract[4](z), fused1], dim=1))
        z = self.Decoder[2](z)
        out1 = self.feat_extract[5](z) + x
        return [
            out4[..., : _ceil_div(height, 4), : _ceil_div(width, 4)],
            out2[..., : _ceil_div(height, 2), : _ceil_div(width, 2)],
            out1[..., :height, :width],
        ]


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad bottom/right so H and W are multiples of ``multiple`` (replicate when too small to reflect)."""
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if height > pad_h and width > pad_w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


#: The official variants, by the names ``build_net`` accepts in the official code.
VARIANTS: dict[str, dict] = {
    "MIMO-UNet": {"num_res": 8, "width": 32, "dropout": 0.0},
    "MIMO-UNetPlus": {"num_res": 20, "width": 32, "dropout": 0.1},
}


def build_network(variant: str = "MIMO-UNet", num_res: int | None = None, width: int | None = None) -> MIMOUNet:
    """Build a family member by variant name, optionally overriding depth and width."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown MIMO-UNet variant {variant!r}; choose one of {sorted(VARIANTS)}")
    config = dict(VARIANTS[variant])
    if num_res is not None:
        config["num_res"] = num_res
    if width is not None:
        config["width"] = width
    return MIMOUNet(**config)
