"""YOLOv8-style CSP-Darknet backbone (C2f blocks + SPPF) for the pose estimator P.

Model sizes (``deepen_factor``, ``widen_factor``) follow the usual YOLOv8 scaling:

=====  =============  ============  ===========================================
size   deepen_factor  widen_factor  output channels at strides 8 / 16 / 32
=====  =============  ============  ===========================================
n      0.33           0.25          64 / 128 / 256
s      0.33           0.50          128 / 256 / 512
=====  =============  ============  ===========================================
"""
import math
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from mmpose.registry import MODELS

# YOLO's BN settings (momentum 0.03, eps 1e-3) and SiLU activation.
DEFAULT_NORM = dict(type='BN', momentum=0.03, eps=0.001)
DEFAULT_ACT = dict(type='SiLU', inplace=True)


def make_divisible(channels: float, widen_factor: float, divisor: int = 8) -> int:
    """Scale a channel count by ``widen_factor`` and round up to a multiple of ``divisor``."""
    return int(math.ceil(channels * widen_factor / divisor) * divisor)


def make_round(num_blocks: int, deepen_factor: float) -> int:
    """Scale a block count by ``deepen_factor`` (at least one block)."""
    return max(round(num_blocks * deepen_factor), 1) if num_blocks > 1 else num_blocks


class DarknetBottleneck(nn.Module):
    """Two 3x3 convs with an optional identity shortcut (used inside :class:`C2f`)."""

    def __init__(self, channels: int, add_identity: bool = True, norm_cfg=DEFAULT_NORM,
                 act_cfg=DEFAULT_ACT):
        super().__init__()
        self.conv1 = ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg,
                                act_cfg=act_cfg)
        self.conv2 = ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg,
                                act_cfg=act_cfg)
        self.add_identity = add_identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return x + out if self.add_identity else out


class C2f(nn.Module):
    """CSP block with two convolutions and ``num_blocks`` bottlenecks whose outputs are all kept.

    A 1x1 conv maps the input to ``2 * hidden`` channels which are split in two halves; the
    bottlenecks run one after the other on the second half and every intermediate output is
    concatenated ((2 + num_blocks) * hidden channels) before a final 1x1 conv.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        num_blocks (int): Number of bottlenecks.
        add_identity (bool): Residual connection inside the bottlenecks (True in the backbone,
            False in the neck, as in YOLOv8).
        expand_ratio (float): hidden = out_channels * expand_ratio (0.5, as in YOLOv8).
    """

    def __init__(self, in_channels: int, out_channels: int, num_blocks: int = 1,
                 add_identity: bool = True, expand_ratio: float = 0.5,
                 norm_cfg=DEFAULT_NORM, act_cfg=DEFAULT_ACT):
        super().__init__()
        self.hidden = int(out_channels * expand_ratio)
        self.main_conv = ConvModule(in_channels, 2 * self.hidden, 1, norm_cfg=norm_cfg,
                                    act_cfg=act_cfg)
        self.final_conv = ConvModule((2 + num_blocks) * self.hidden, out_channels, 1,
                                     norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.blocks = nn.ModuleList(
            DarknetBottleneck(self.hidden, add_identity, norm_cfg, act_cfg)
            for _ in range(num_blocks))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outs = list(self.main_conv(x).split((self.hidden, self.hidden), dim=1))
        for block in self.blocks:
            outs.append(block(outs[-1]))
        return self.final_conv(torch.cat(outs, dim=1))


class SPPF(nn.Module):
    """Spatial pyramid pooling - fast: one max-pool applied three times in sequence.

    Three chained ``kernel_size`` pools have the receptive fields of the parallel 5/9/13 pools
    of the original SPP at a lower cost.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 5,
                 norm_cfg=DEFAULT_NORM, act_cfg=DEFAULT_ACT):
        super().__init__()
        mid = in_channels // 2
        self.conv1 = ConvModule(in_channels, mid, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.pool = nn.MaxPool2d(kernel_size, stride=1, padding=kernel_size // 2)
        self.conv2 = ConvModule(mid * 4, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        y1 = self.pool(x)
        y2 = self.pool(y1)
        return self.conv2(torch.cat([x, y1, y2, self.pool(y2)], dim=1))


@MODELS.register_module()
class YOLOv8CSPDarknet(BaseModule):
    """YOLOv8 backbone: a stride-2 stem followed by four stages (stride-2 conv + C2f), the last
    one ending with SPPF.

    Stage settings before scaling (out channels, C2f blocks): (128, 3), (256, 6), (512, 6),
    (``last_stage_out_channels``, 3) after a 64-channel stem.

    Args:
        deepen_factor (float): Depth multiplier (n/s: 0.33).
        widen_factor (float): Width multiplier (n: 0.25, s: 0.50).
        last_stage_out_channels (int): Unscaled width of the last stage (1024 for n/s).
        out_indices (Sequence[int]): Which outputs to return; 0 is the stem (stride 2),
            i is stage i (stride 2**(i+1)). Default (2, 3, 4) gives strides 8/16/32.
        frozen_stages (int): Stages (0 = stem) to freeze; -1 freezes nothing.
        norm_cfg, act_cfg (dict): Norm/activation configs (YOLO defaults: BN(0.03, 1e-3), SiLU).
        norm_eval (bool): Keep BN layers in eval mode while training.
        init_cfg (dict, optional): MMEngine init config.
    """

    arch = [  # (out_channels, num_blocks, add_identity, use_sppf)
        (128, 3, True, False),
        (256, 6, True, False),
        (512, 6, True, False),
        (None, 3, True, True),
    ]

    def __init__(self,
                 deepen_factor: float = 0.33,
                 widen_factor: float = 0.25,
                 last_stage_out_channels: int = 1024,
                 out_indices: Sequence[int] = (2, 3, 4),
                 frozen_stages: int = -1,
                 norm_cfg: dict = DEFAULT_NORM,
                 act_cfg: dict = DEFAULT_ACT,
                 norm_eval: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if deepen_factor <= 0 or widen_factor <= 0:
            raise ValueError(f'deepen_factor and widen_factor must be > 0, got '
                             f'{deepen_factor}, {widen_factor}')
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in range(len(self.arch) + 1) for i in out_indices):
            raise ValueError(f'out_indices must be a non-empty subset of 0..{len(self.arch)}, '
                             f'got {out_indices}')
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval

        stem_channels = make_divisible(64, widen_factor)
        self.stem = ConvModule(3, stem_channels, 3, stride=2, padding=1, norm_cfg=norm_cfg,
                               act_cfg=act_cfg)
        self.layers = ['stem']
        self.out_channels: List[int] = [stem_channels]
        in_ch = stem_channels
        for i, (out_ch, n, add_identity, use_sppf) in enumerate(self.arch):
            out_ch = make_divisible(last_stage_out_channels if out_ch is None else out_ch,
                                    widen_factor)
            stage = [
                ConvModule(in_ch, out_ch, 3, stride=2, padding=1, norm_cfg=norm_cfg,
                           act_cfg=act_cfg),
                C2f(out_ch, out_ch, make_round(n, deepen_factor), add_identity,
                    norm_cfg=norm_cfg, act_cfg=act_cfg)
            ]
            if use_sppf:
                # kernel 5 as in YOLOv8 (equivalent to SPP 5/9/13)
                stage.append(SPPF(out_ch, out_ch, 5, norm_cfg=norm_cfg, act_cfg=act_cfg))
            name = f'stage{i + 1}'
            self.add_module(name, nn.Sequential(*stage))
            self.layers.append(name)
            self.out_channels.append(out_ch)
            in_ch = out_ch
        self._freeze_stages()

    def _freeze_stages(self):
        for i in range(self.frozen_stages + 1):
            m = getattr(self, self.layers[i])
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def forward(self, x: torch.Tensor) -> tuple:
        if x.dim() != 4 or x.size(1) != 3:
            raise ValueError(f'YOLOv8CSPDarknet expects an (N, 3, H, W) tensor, '
                             f'got shape {tuple(x.shape)}')
        outs = []
        for i, name in enumerate(self.layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
