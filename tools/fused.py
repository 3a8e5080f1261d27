"""A CPU fast path for a MIMO-UNet: prepacked oneDNN convolutions with ReLU and residual adds fused in.

The arithmetic is the network's own (same convolutions, same order of additions, fp32), so outputs match
the plain module to float rounding (~1e-6).  What changes is memory traffic: weights are reordered once
into oneDNN's blocked layout, activations stay channels-last, each ReLU and each ``conv(x) + skip`` runs
inside the convolution instead of as separate passes over a fresh tensor, so far fewer large buffers are
allocated, written and read again.  Only the full-resolution output is computed.
"""

from __future__ import annotations

import torch
from torch import nn

from tools.mimo_unet import SIZE_MULTIPLE, MIMOUNet, _double, _half, _pad_to_multiple


def fused_path_available() -> bool:
    """Whether this torch build has the oneDNN pointwise-fused convolution operators."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


class _PackedConv:
    """One BasicConv with its weight reordered for oneDNN and its optional ReLU fused."""

    def __init__(self, basic_conv: nn.Module):
        conv = basic_conv.main[0]
        self.relu = "relu" if len(basic_conv.main) > 1 else "none"
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        self.padding, self.stride = list(conv.padding), list(conv.stride)
        weight = conv.weight.detach().float()
        mkldnn = torch.ops.mkldnn
        if self.transposed:
            self.weight = mkldnn._reorder_convolution_transpose_weight(weight, self.padding, [0, 0], self.stride,
                                                                        [1, 1], 1, None)
        else:
            self.weight = mkldnn._reorder_convolution_weight(weight, self.padding, self.stride, [1, 1], 1, None)
        self.bias = conv.bias.detach().float()

    def __call__(self, x: torch.Tensor, add: torch.Tensor | None = None) -> torch.Tensor:
        """``act(conv(x))``, or ``conv(x) + add`` (only for convolutions without a ReLU)."""
        mkldnn = torch.ops.mkldnn
        if self.transposed:
            return mkldnn._convolution_transpose_pointwise(x, self.weight, self.bias, self.padding, [0, 0],
                                                          self.stride, [1, 1], 1, self.relu, [], "")
        if add is None:
            return mkldnn._convolution_pointwise(x, self.weight, self.bias, self.padding, self.stride, [1, 1], 1,
                                                 self.relu, [], "")
        return mkldnn._convolution_pointwise.binary(x, add, self.weight, self.bias, self.padding, self.stride,
                                                    [1, 1], 1, "add", None, None, [], None)


def _stage(stage: nn.Module) -> list[tuple[_PackedConv, _PackedConv]]:
    return [(_PackedConv(block.main[0]), _PackedConv(block.main[1])) for block in stage.layers]


class FusedMIMOUNet:
    """Inference-only twin of a ``MIMOUNet`` returning just the full-scale output (call under inference_mode)."""

    def __init__(self, network: MIMOUNet):
        if not fused_path_available():
            raise RuntimeError("this torch build has no oneDNN fused convolutions")
        self.encoder = [_stage(stage) for stage in network.Encoder]
        self.decoder = [_stage(stage) for stage in network.Decoder]
        self.feat_extract = [_PackedConv(conv) for conv in network.feat_extract]
        self.convs = [_PackedConv(conv) for conv in network.Convs]
        self.affs = [[_PackedConv(conv) for conv in aff.conv] for aff in network.AFFs]
        self.fam1, self.fam2 = _PackedConv(network.FAM1.merge), _PackedConv(network.FAM2.merge)
        self.scm1 = ([_PackedConv(conv) for conv in network.SCM1.main], _PackedConv(network.SCM1.conv))
        self.scm2 = ([_PackedConv(conv) for conv in network.SCM2.main], _PackedConv(network.SCM2.conv))

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

    @staticmethod
    def _aff(aff: list[_PackedConv], *features: torch.Tensor) -> torch.Tensor:
        return aff[1](aff[0](torch.cat(features, dim=1)))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The full-scale restored image (N,3,H,W) for input ``x`` (N,3,H,W), any H and W."""
        height, width = x.shape[-2:]
        x = _pad_to_multiple(x.float(), SIZE_MULTIPLE).contiguous(memory_format=torch.channels_last)
        x_2 = _half(x)
        x_4 = _half(x_2)
        z2, z4 = self._scm(self.scm2, x_2), self._scm(self.scm1, x_4)
        del x_2, x_4

        res1 = self._run_stage(self.encoder[0], self.feat_extract[0](x))
        z = self.feat_extract[1](res1)
        z = self.fam2(z * z2, add=z)
        res2 = self._run_stage(self.encoder[1], z)
        z = self.feat_extract[2](res2)
        z = self.fam1(z * z4, add=z)
        del z2, z4
        z = self._run_stage(self.encoder[2], z)

        z42 = _double(z)
        fused2 = self._aff(self.affs[1], _half(res1), res2, z42)
        fused1 = self._aff(self.affs[0], res1, _double(res2), _double(z42))
        del res1, res2, z42

        z = self._run_stage(self.decoder[0], z)
        z = self.convs[0](torch.cat([self.feat_extract[3](z), fused2], dim=1))
        del fused2
        z = self._run_stage(self.decoder[1], z)
        z = self.convs[1](torch.cat([self.feat_extract[4](z), fused1], dim=1))
        del fused1
        z = self._run_stage(self.decoder[2], z)
        return self.feat_extract[5](z, add=x)[..., :height, :width]
