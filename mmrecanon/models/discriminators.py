# Copyright (c) mmrecanon contributors.
"""Conditional PatchGAN discriminators D_Y and D_X."""
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import Tensor

from .generators import _use_bias, generation_init_cfg


@MODELS.register_module()
class PatchDiscriminator(BaseModule):
    """Conditional PatchGAN discriminator (pix2pix ``NLayerDiscriminator``).

    Used for both discriminators of the paper:

    - D_Y(y | x): ``img`` = A(x) (real, desensitizer output) or y' = G_X(x)
      (fake), ``condition`` = x;
    - D_X(x | y'): ``img`` = x (real) or x' = G_Y(y') (fake),
      ``condition`` = y'.

    The condition is concatenated *before* the image on the channel axis
    (``cat([condition, img])``, pix2pix's ``cat([real_A, fake_B])``), so
    ``in_channels`` = condition channels + image channels (6 for two BGR
    crops). Without a condition the discriminator is unconditional and
    ``img`` alone must have ``in_channels`` channels.

    Layers: Conv4x4/s2 + LeakyReLU(0.2) (no norm); ``num_conv - 1`` x
    [Conv4x4/s2, norm, LeakyReLU]; Conv4x4/s1, norm, LeakyReLU; Conv4x4/s1
    -> 1 channel. Widths ``base * min(2**i, 8)``. ``num_conv=3`` is the
    70x70 PatchGAN (30x30 logits for 256x256 input).

    Args:
        in_channels (int): Channels of cat(condition, img). Defaults to 6.
        base_channels (int): Width of the first conv. Defaults to 64.
        num_conv (int): Number of strided+norm conv stages (pix2pix's
            ``n_layers``). Defaults to 3.
        norm_cfg (dict | None): Norm config. Defaults to BN.
        init_cfg: pix2pix-style ``dict(type='normal', gain=0.02)`` (conv
            N(0, 0.02), norm weight N(1, 0.02)) or any mmengine init_cfg.
    """

    def __init__(self,
                 in_channels: int = 6,
                 base_channels: int = 64,
                 num_conv: int = 3,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 init_cfg: Union[dict, List[dict], None] = dict(
                     type='normal', gain=0.02)):
        super().__init__(init_cfg=generation_init_cfg(init_cfg))
        if not isinstance(num_conv, int) or num_conv < 1:
            raise ValueError(f'num_conv must be an int >= 1, got {num_conv}')
        self.in_channels = in_channels
        self.num_conv = num_conv
        bias = _use_bias(norm_cfg)
        lrelu = dict(type='LeakyReLU', negative_slope=0.2)
        b = base_channels
        layers = [
            ConvModule(in_channels, b, 4, stride=2, padding=1, bias=True,
                       norm_cfg=None, act_cfg=lrelu)
        ]
        prev = b
        for i in range(1, num_conv + 1):
            cur = b * min(2**i, 8)
            stride = 2 if i < num_conv else 1
            layers.append(
                ConvModule(prev, cur, 4, stride=stride, padding=1, bias=bias,
                           norm_cfg=norm_cfg, act_cfg=lrelu))
            prev = cur
        layers.append(
            ConvModule(prev, 1, 4, stride=1, padding=1, bias=True,
                       norm_cfg=None, act_cfg=None))
        # plain container child, so ConvModule's own Kaiming init_weights is
        # not invoked by BaseModule.init_weights after init_cfg
        self.model = nn.Sequential(*layers)

    def _convs(self) -> List[nn.Conv2d]:
        return [m.conv for m in self.model]

    @property
    def receptive_field(self) -> int:
        """Receptive field (pixels) of one output logit, from the layers:
        ``rf = 1 + sum_l (k_l - 1) * prod_{j<l} s_j`` (70 for num_conv=3)."""
        rf, jump = 1, 1
        for conv in self._convs():
            rf += (conv.kernel_size[0] - 1) * conv.dilation[0] * jump
            jump *= conv.stride[0]
        return rf

    def output_size(self, size: int) -> int:
        """Logit map side for an input side ``size`` (30 for 256)."""
        for conv in self._convs():
            k, s, p, d = (conv.kernel_size[0], conv.stride[0],
                          conv.padding[0], conv.dilation[0])
            size = (size + 2 * p - d * (k - 1) - 1) // s + 1
            if size < 1:
                return 0
        return size

    def forward(self,
                img: Tensor,
                condition: Optional[Tensor] = None) -> Tensor:
        """Raw logits N x 1 x h x w for ``img`` given ``condition``."""
        name = self.__class__.__name__
        if not isinstance(img, Tensor) or img.dim() != 4:
            raise ValueError(f'{name} expects an NCHW img, got '
                             f'{getattr(img, "shape", type(img))}')
        if condition is not None:
            if (not isinstance(condition, Tensor) or condition.dim() != 4
                    or condition.shape[0] != img.shape[0]
                    or condition.shape[-2:] != img.shape[-2:]):
                raise ValueError(
                    f'{name}: condition shape '
                    f'{tuple(getattr(condition, "shape", ()))} must match '
                    f'img shape {tuple(img.shape)} in N, H and W')
            x = torch.cat([condition, img], dim=1)
        else:
            x = img
        if x.shape[1] != self.in_channels:
            raise ValueError(f'{name} expects {self.in_channels} channels in '
                             f'cat(condition, img), got {x.shape[1]}')
        h, w = x.shape[-2:]
        if min(self.output_size(h), self.output_size(w)) < 1:
            raise ValueError(f'{name}(num_conv={self.num_conv}) input '
                             f'{h}x{w} is too small for its layers')
        return self.model(x)
