"""A CPU fast path for a MIMO-UNet: prepacked oneDNN convolutions with ReLU and residual adds fused in.

The arithmetic is the network's own (same convolutions, same order of additions, fp32), so outputs match
the plain module to float rounding (~1e-6).  What changes is memory traffic: weights are reordered once
into oneDNN's blocked layout, activations stay channels-last, each ReLU and each ``conv(x) + skip`` runs
inside the convolution instead of as separate passes over a fresh tensor, so far fewer large buffers are
allocated, written and read again.  Only the full-resolution output is computed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tools.mimo_unet import SIZE_MULTIPLE, MIMOUNet, _half, _pad_to_multiple


def fused_path_available() -> bool:
    """Whether this torch build has the oneDNN pointwise-fused convolution operators."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


class _PackedConv:
    """One convolution with its weight reordered for oneDNN and its optional ReLU fused."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, padding: list[int], stride: list[int],
                 relu: bool, transposed: bool = False):
        self.relu = "relu" if relu else "none"
        self.transposed, self.padding, self.stride = transposed, padding, stride
        weight = weight.detach().float().contiguous()
        mkldnn = torch.ops.mkldnn
        if transposed:
            self.weight = mkldnn._reorder_convolution_transpose_weight(weight, padding, [0, 0], stride, [1, 1], 1,
                                                                        None)
        else:
            self.weight = mkldnn._reorder_convolution_weight(weight, padding, stride, [1, 1], 1, None)
        self.bias = None if bias is None else bias.detach().float()

    @classmethod
    def of(cls, basic_conv: nn.Module, channels: slice | None = None, bias: bool = True) -> _PackedConv:
        """Pack a ``BasicConv``; ``channels`` keeps only those input channels (a 1x1 conv over part of a concat)."""
        conv = basic_conv.main[0]
        weight = conv.weight if channels is None else conv.weight[:, channels]
        return cls(weight, conv.bias if bias else None, list(conv.padding), list(conv.stride),
                   relu=len(basic_conv.main) > 1, transposed=isinstance(conv, nn.ConvTranspose2d))

    def __call__(self, x: torch.Tensor, add: torch.Tensor | None = None, relu: bool | None = None) -> torch.Tensor:
        """``act(conv(x))``; with ``add``: ``conv(x) + add``, then ReLU when ``relu``."""
        mkldnn = torch.ops.mkldnn
        if self.transposed:
            return mkldnn._convolution_transpose_pointwise(x, self.weight, self.bias, self.padding, [0, 0],
                                                          self.stride, [1, 1], 1, self.relu, [], "")
        if add is None:
            return mkldnn._convolution_pointwise(x, self.weight, self.bias, self.padding, self.stride, [1, 1], 1,
                                                 "relu" if relu or (relu is None and self.relu == "relu") else "none",
                                                 [], "")
        return mkldnn._convolution_pointwise.binary(x, add, self.weight, self.bias, self.padding, self.stride,
                                                    [1, 1], 1, "add", None, "relu" if relu else None, [], None)


class _SplitConcatConv:
    """A ReLU'd 1x1 conv over ``cat(parts)`` computed as a sum of per-part 1x1 convs.

    A 1x1 convolution commutes with nearest upsampling, so parts that the network upsamples before the
    concat are convolved at their own, lower resolution and only the narrow result is upsampled: the
    wide full-resolution concat is never built.  ``widths`` are the parts' channel counts in concat order.
    """

    def __init__(self, basic_conv: nn.Module, widths: list[int]):
        bounds = [sum(widths[:index]) for index in range(len(widths) + 1)]
        self.parts = [_PackedConv.of(basic_conv, slice(low, high), bias=index == 0)
                      for index, (low, high) in enumerate(zip(bounds, bounds[1:]))]

    def __call__(self, main: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
        """``relu(conv_0(main) + rest)`` where ``rest`` is the already-summed other parts."""
        return self.parts[0](main, add=rest, relu=True)


def _stage(stage: nn.Module) -> list[tuple[_PackedConv, _PackedConv]]:
    return [(_PackedConv.of(block.main[0]), _PackedConv.of(block.main[1])) for block in stage.layers]


def _up(x: torch.Tensor, factor: int) -> torch.Tensor:
    return F.interpolate(x, scale_factor=float(factor), mode="nearest")


class FusedMIMOUNet:
    """Inference-only twin of a ``MIMOUNet`` returning just the full-scale output (call under inference_mode)."""

    def __init__(self, network: MIMOUNet):
        if not fused_path_available():
            raise RuntimeError("this torch build has no oneDNN fused convolutions")
        w = network.width
        self.encoder = [_stage(stage) for stage in network.Encoder]
        self.decoder = [_stage(stage) for stage in network.Decoder]
        self.feat_extract = [_PackedConv.of(conv) for conv in network.feat_extract]
        # Convs[i] sees cat([upsampled decoder features, AFF output]); AFFs see cat([scale 1, 1/2, 1/4]).
        self.convs = [_SplitConcatConv(network.Convs[0], [2 * w, 2 * w]), _SplitConcatConv(network.Convs[1], [w, w])]
        self.aff_in = [_SplitConcatConv(network.AFFs[0].conv[0], [w, 2 * w, 4 * w]),
                       _SplitConcatConv(network.AFFs[1].conv[0], [w, 2 * w, 4 * w])]
        self.aff_out = [_PackedConv.of(network.AFFs[0].conv[1]), _PackedConv.of(network.AFFs[1].conv[1])]
        self.fam1, self.fam2 = _PackedConv.of(network.FAM1.merge), _PackedConv.of(network.FAM2.merge)
        self.scm1 = ([_PackedConv.of(conv) for conv in network.SCM1.main], _PackedConv.of(network.SCM1.conv))
        self.scm2 = ([_PackedConv.of(conv) for conv in network.SCM2.main], _PackedConv.of(network.SCM2.conv))

    @staticmethod
    def _run_stage(blocks: list[tuple[_PackedConv, _PackedConv]], x: torch.Tensor) -> torch.Tensor:
        for first, second in blocks:
            x = second(first(x), add=x)
        return x

    @staticmethod
    def _scm(scm: tuple[list[_PackedConv], _PackedConv], x: torch.Tensor) -> torch.Tensor:
        features = x
        for conv in scm[0]:
            features = conv(features)
        return scm[1](torch.cat([x, features], dim=1))

    def _fuse_skips(self, res1: torch.Tensor, res2: torch.Tensor, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The two AFF outputs (scale 1/2, scale 1) from the encoder outputs at scales 1, 1/2, 1/4."""
        half_parts, full_parts = self.aff_in[1].parts, self.aff_in[0].parts
        rest = half_parts[0](_half(res1), relu=False)
        rest += _up(half_parts[2](z, relu=False), 2)
        fused2 = self.aff_out[1](self.aff_in[1].parts[1](res2, add=rest, relu=True))
        rest = full_parts[1](res2, relu=False)
        rest += _up(full_parts[2](z, relu=False), 2)
        fused1 = self.aff_out[0](self.aff_in[0](res1, _up(rest, 2)))
        return fused2, fused1

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The full-scale restored image (N,3,H,W) for input ``x`` (N,3,H,W), any H and W."""
        height, width = x.shape[-2:]
        x = _pad_to_multiple(x.float(), SIZE_MULTIPLE).contiguous(memory_format=torch.channels_last)
        x_2 = _half(x)
        z2, z4 = self._scm(self.scm2, x_2), self._scm(self.scm1, _half(x_2))
        del x_2

        res1 = self._run_stage(self.encoder[0], self.feat_extract[0](x))
        z = self.feat_extract[1](res1)
        z = self.fam2(z * z2, add=z)
        res2 = self._run_stage(self.encoder[1], z)
        z = self.feat_extract[2](res2)
        z = self.fam1(z * z4, add=z)
        del z2, z4
        z = self._run_stage(self.encoder[2], z)
        fused2, fused1 = self._fuse_skips(res1, res2, z)
        del res1, res2

        z = self._run_stage(self.decoder[0], z)
        z = self.convs[0](self.feat_extract[3](z), self.convs[0].parts[1](fused2, relu=False))
        del fused2
        z = self._run_stage(self.decoder[1], z)
        z = self.convs[1](self.feat_extract[4](z), self.convs[1].parts[1](fused1, relu=False))
        del fused1
        z = self._run_stage(self.decoder[2], z)
        return self.feat_extract[5](z, add=x)[..., :height, :width]
