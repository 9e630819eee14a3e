"""YOLOv8-style PAFPN neck for the pose estimator P."""
from typing import List, Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from mmpose.registry import MODELS
from .backbone import C2f, DEFAULT_ACT, DEFAULT_NORM, make_divisible, make_round


@MODELS.register_module()
class YOLOv8PAFPN(BaseModule):
    """Path-aggregation FPN with C2f blocks (no lateral 1x1 reductions, as in YOLOv8).

    Top-down: P5 is upsampled (nearest, x2), concatenated with P4 and fused by a C2f (-> T4);
    T4 is upsampled, concatenated with P3 and fused (-> N3). Bottom-up: a stride-2 3x3 conv on N3
    is concatenated with T4 and fused (-> N4); the same on N4 with P5 gives N5. Outputs
    (N3, N4, N5) have strides 8/16/32 and ``out_channels`` (scaled by ``widen_factor``).

    Args:
        in_channels (Sequence[int]): Unscaled channels of the backbone outputs (strides 8/16/32).
            Default (256, 512, 1024) matches :class:`YOLOv8CSPDarknet`.
        out_channels (Sequence[int]): Unscaled output channels. Default = ``in_channels``.
        deepen_factor, widen_factor (float): Same model-size multipliers as the backbone.
        num_csp_blocks (int): Unscaled C2f depth (3, as in YOLOv8).
    """

    def __init__(self,
                 in_channels: Sequence[int] = (256, 512, 1024),
                 out_channels: Optional[Sequence[int]] = None,
                 deepen_factor: float = 0.33,
                 widen_factor: float = 0.25,
                 num_csp_blocks: int = 3,
                 norm_cfg: dict = DEFAULT_NORM,
                 act_cfg: dict = DEFAULT_ACT,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != 3:
            raise ValueError(f'YOLOv8PAFPN needs 3 input levels, got in_channels={in_channels}')
        out_channels = in_channels if out_channels is None else out_channels
        if len(out_channels) != 3:
            raise ValueError(f'YOLOv8PAFPN needs 3 output levels, got {out_channels}')
        c3, c4, c5 = (make_divisible(c, widen_factor) for c in in_channels)
        o3, o4, o5 = (make_divisible(c, widen_factor) for c in out_channels)
        self.in_channels = [c3, c4, c5]
        self.out_channels: List[int] = [o3, o4, o5]
        n = make_round(num_csp_blocks, deepen_factor)
        kw = dict(norm_cfg=norm_cfg, act_cfg=act_cfg)

        self.upsample = nn.Upsample(scale_factor=2, mode='nearest')
        self.top_down4 = C2f(c5 + c4, o4, n, add_identity=False, **kw)
        self.top_down3 = C2f(o4 + c3, o3, n, add_identity=False, **kw)
        self.down3 = ConvModule(o3, o3, 3, stride=2, padding=1, **kw)
        self.bottom_up4 = C2f(o3 + o4, o4, n, add_identity=False, **kw)
        self.down4 = ConvModule(o4, o4, 3, stride=2, padding=1, **kw)
        self.bottom_up5 = C2f(o4 + c5, o5, n, add_identity=False, **kw)

    def forward(self, inputs: Sequence[torch.Tensor]) -> tuple:
        if len(inputs) != 3:
            raise ValueError(f'YOLOv8PAFPN expects 3 feature maps, got {len(inputs)}')
        p3, p4, p5 = inputs
        t4 = self.top_down4(torch.cat([self.upsample(p5), p4], dim=1))
        n3 = self.top_down3(torch.cat([self.upsample(t4), p3], dim=1))
        n4 = self.bottom_up4(torch.cat([self.down3(n3), t4], dim=1))
        n5 = self.bottom_up5(torch.cat([self.down4(n4), p5], dim=1))
        return n3, n4, n5
