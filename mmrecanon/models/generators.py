# Copyright (c) mmrecanon contributors.
"""Image-to-image generators G_X (enhancer) and G_Y (recoverer).

G_X maps a person crop x to a privacy-enhanced crop y' = G_X(x) that looks
like the desensitizer output A(x); G_Y maps y' back to x' = G_Y(y') ~ x.
Both use the same architectures: a pix2pix U-Net (:class:`UnetGenerator`) or a
CycleGAN-style ResNet (:class:`ResnetGenerator`). Tensors are NCHW float in
[-1, 1]; outputs pass through tanh.
"""
from typing import List, Optional, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpose.registry import MODELS
from torch import Tensor

# Layer class names matched by the mmengine initialisers built below
# (mmengine matches the class name or its *direct* base-class names).
_CONV_LAYERS = ['Conv2d', 'ConvTranspose2d', 'Linear']
_NORM_LAYERS = ['_BatchNorm', '_InstanceNorm', 'GroupNorm']


def generation_init_cfg(
        init_cfg: Union[dict, List[dict], None]) -> Union[List[dict], None]:
    """Translate a pix2pix-style ``init_cfg`` into mmengine initialisers.

    ``dict(type='normal'|'xavier'|'kaiming', gain=g)`` (lower-case, as in
    pix2pix/mmagic) becomes a list of mmengine ``init_cfg`` dicts applied by
    :meth:`mmengine.model.BaseModule.init_weights`:

    - conv / deconv / linear weights: N(0, g) for ``'normal'``, Xavier-normal
      with gain g for ``'xavier'``, Kaiming-normal (fan_in) for ``'kaiming'``;
      biases 0;
    - norm-layer weights N(1, g), biases 0 (affine-free norms have no
      parameters and are skipped).

    Any other value (mmengine-style dicts, ``Pretrained``, ``None``) is
    returned unchanged.
    """
    if not isinstance(init_cfg, dict) or init_cfg.get('type') not in (
            'normal', 'xavier', 'kaiming'):
        return init_cfg
    extra = set(init_cfg) - {'type', 'gain'}
    if extra:
        raise ValueError(f'pix2pix-style init_cfg accepts only type and gain, '
                         f'got extra keys {sorted(extra)}')
    gain = float(init_cfg.get('gain', 0.02))
    kind = init_cfg['type']
    if kind == 'normal':
        conv = dict(type='Normal', layer=_CONV_LAYERS, mean=0., std=gain)
    elif kind == 'xavier':
        conv = dict(type='Xavier', layer=_CONV_LAYERS, gain=gain,
                    distribution='normal')
    else:
        conv = dict(type='Kaiming', layer=_CONV_LAYERS, a=0, mode='fan_in',
                    distribution='normal')
    conv['bias'] = 0.
    norm = dict(type='Normal', layer=_NORM_LAYERS, mean=1., std=gain, bias=0.)
    return [conv, norm]


def _use_bias(norm_cfg: Optional[dict]) -> bool:
    """Conv bias only when no norm follows (mmcv's ``bias='auto'``).

    BN and IN subtract the per-channel mean, which cancels a conv bias
    exactly (its gradient is zero), so dropping it keeps pix2pix's function
    class (pix2pix keeps the dead bias before affine-free IN) and avoids
    mmcv's "unnecessary conv bias" warning.
    """
    return norm_cfg is None


def _check_input(name: str, x: Tensor, in_channels: int, multiple: int):
    if not isinstance(x, Tensor) or x.dim() != 4:
        raise ValueError(f'{name} expects an NCHW tensor, got '
                         f'{getattr(x, "shape", type(x))}')
    if x.shape[1] != in_channels:
        raise ValueError(f'{name} expects {in_channels} input channels, got '
                         f'{x.shape[1]}')
    h, w = x.shape[-2:]
    if h % multiple or w % multiple or h == 0 or w == 0:
        raise ValueError(f'{name} needs input height and width to be '
                         f'multiples of {multiple}, got {h}x{w}')


class UnetSkipBlock(nn.Module):
    """One U-Net level: ``down -> submodule -> up``, output = cat(x, up).

    Down: [LeakyReLU(0.2)] -> Conv4x4/s2 -> [norm]; up: ReLU ->
    ConvTranspose4x4/s2 -> [norm] -> [Dropout(0.5)]. The outermost level has
    no activation/norm on the way down, a biased deconv and tanh on the way
    up, and returns the up-path output (no concat). The innermost level has
    no submodule and no down norm (its feature is 1x1).

    Activations are not in-place so the skip carries the pre-activation
    feature (pix2pix's in-place LeakyReLU silently altered the skip tensor).
    """

    def __init__(self,
                 outer_channels: int,
                 inner_channels: int,
                 in_channels: Optional[int] = None,
                 submodule: Optional[nn.Module] = None,
                 outermost: bool = False,
                 innermost: bool = False,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 use_dropout: bool = False):
        super().__init__()
        self.outermost = outermost
        self.innermost = innermost
        in_channels = outer_channels if in_channels is None else in_channels
        bias = _use_bias(norm_cfg)
        down_act = None if outermost else dict(
            type='LeakyReLU', negative_slope=0.2)
        down_norm = None if (outermost or innermost) else norm_cfg
        self.down = ConvModule(
            in_channels, inner_channels, 4, stride=2, padding=1, bias=bias,
            norm_cfg=down_norm, act_cfg=down_act, inplace=False,
            order=('act', 'conv', 'norm'))
        self.submodule = submodule
        # innermost up path sees only the bottleneck; others see the concat
        up_in = inner_channels if innermost else inner_channels * 2
        self.up = ConvModule(
            up_in, outer_channels, 4, stride=2, padding=1,
            bias=True if outermost else bias,
            conv_cfg=dict(type='deconv'),
            norm_cfg=None if outermost else norm_cfg,
            act_cfg=dict(type='ReLU'), inplace=False,
            order=('act', 'conv', 'norm'))
        if outermost:
            self.out = nn.Tanh()
        elif use_dropout:
            self.out = nn.Dropout(0.5)
        else:
            self.out = nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        y = self.down(x)
        if self.submodule is not None:
            y = self.submodule(y)
        y = self.out(self.up(y))
        return y if self.outermost else torch.cat([x, y], dim=1)


@MODELS.register_module()
class UnetGenerator(BaseModule):
    """pix2pix U-Net generator, used for G_X (enhancer) and G_Y (recoverer).

    ``num_downs`` stride-2 4x4 convs halve the resolution down to a 1x1
    bottleneck, mirrored by stride-2 deconvs with skip connections
    (concatenation) at every level; tanh output in [-1, 1].
    ``num_downs=7`` suits 128x128 crops and ``num_downs=8`` 256x256 crops
    (pix2pix's unet_128 / unet_256); any ``num_downs >= 5`` is allowed.
    Input height and width must be multiples of ``2 ** num_downs``.

    Channel widths per level (outermost first): ``base``, ``2*base``,
    ``4*base``, ``8*base`` and ``8*base`` for all deeper levels (pix2pix's
    cap, keeps the parameter count linear in depth). Dropout(0.5) is applied
    on the up path of the ``num_downs - 5`` extra ``8*base`` levels when
    ``use_dropout`` is True (pix2pix's noise source).

    Args:
        in_channels (int): Input channels. Defaults to 3.
        out_channels (int): Output channels. Defaults to 3.
        num_downs (int): Number of stride-2 downsamplings. Defaults to 8.
        base_channels (int): Width of the outermost level. Defaults to 64.
        norm_cfg (dict | None): Norm layer config. Defaults to BN.
        use_dropout (bool): Dropout in the deep levels. Defaults to True.
        init_cfg (dict | list[dict] | None): pix2pix-style
            ``dict(type='normal', gain=0.02)`` (conv N(0, 0.02), norm weight
            N(1, 0.02), see :func:`generation_init_cfg`) or any mmengine
            init_cfg.
    """

    def __init__(self,
                 in_channels: int = 3,
                 out_channels: int = 3,
                 num_downs: int = 8,
                 base_channels: int = 64,
                 norm_cfg: Optional[dict] = dict(type='BN'),
                 use_dropout: bool = True,
                 init_cfg: Union[dict, List[dict], None] = dict(
                     type='normal', gain=0.02)):
        super().__init__(init_cfg=generation_init_cfg(init_cfg))
        if not isinstance(num_downs, int) or num_downs < 5:
            raise ValueError(f'num_downs must be an int >= 5, got {num_downs}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_downs = num_downs
        self.base_channels = base_channels
        b = base_channels
        # innermost 8b -> 8b (1x1 bottleneck)
        block = UnetSkipBlock(8 * b, 8 * b, innermost=True, norm_cfg=norm_cfg)
        # num_downs - 5 further 8b levels (with dropout)
        for _ in range(num_downs - 5):
            block = UnetSkipBlock(8 * b, 8 * b, submodule=block,
                                  norm_cfg=norm_cfg, use_dropout=use_dropout)
        # widths 4b -> 8b, 2b -> 4b, b -> 2b
        for outer in (4 * b, 2 * b, b):
            block = UnetSkipBlock(outer, 2 * outer, submodule=block,
                                  norm_cfg=norm_cfg)
        # Direct child is a plain nn.Module, so BaseModule.init_weights does
        # not call ConvModule's own (Kaiming) init_weights after init_cfg.
        self.model = UnetSkipBlock(out_channels, b, in_channels=in_channels,
                                   submodule=block, outermost=True,
                                   norm_cfg=norm_cfg)

    def forward(self, x: Tensor) -> Tensor:
        """Map an NCHW [-1, 1] tensor to an NCHW [-1, 1] tensor."""
        _check_input(f'{self.__class__.__name__}(num_downs={self.num_downs})',
                     x, self.in_channels, 2**self.num_downs)
        return self.model(x)


class ResnetBlock(nn.Module):
    """Residual block ``x + [pad, conv3x3, norm, ReLU, (drop), pad, conv3x3,
    norm](x)`` with the padding given by ``padding_mode``."""

    def __init__(self,
                 channels: int,
                 norm_cfg: Optional[dict] = dict(type='IN'),
                 use_dropout: bool = False,
                 padding_mode: str = 'reflect'):
        super().__init__()
        bias = _use_bias(norm_cfg)
        layers = [
            ConvModule(channels, channels, 3, padding=1, bias=bias,
                       norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'),
                       padding_mode=padding_mode)
        ]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers.append(
            ConvModule(channels, channels, 3, padding=1, bias=bias,
                       norm_cfg=norm_cfg, act_cfg=None,
                       padding_mode=padding_mode))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return x + self.block(x)


@MODELS.register_module()
class ResnetGenerator(BaseModule):
    """ResNet generator (CycleGAN/pix2pix), usable for G_X (enhancer) and
    G_Y (recoverer).

    7x7 stem (``base``), two stride-2 3x3 convs (``2*base``, ``4*base``),
    ``num_blocks`` residual blocks at ``4*base`` (6 for 128px, 9 for 256px
    crops as in CycleGAN), two stride-2 3x3 deconvs back to ``base``, 7x7
    head and tanh. Input height and width must be multiples of 4.

    Args:
        in_channels (int): Input channels. Defaults to 3.
        out_channels (int): Output channels. Defaults to 3.
        base_channels (int): Stem width. Defaults to 64.
        num_blocks (int): Residual blocks. Defaults to 9.
        norm_cfg (dict | None): Norm config. Defaults to IN (mmcv's
            ``nn.InstanceNorm2d``, affine-free as in CycleGAN).
        use_dropout (bool): Dropout(0.5) inside blocks. Defaults to False.
        padding_mode (str): Padding of the 7x7 and block convs ('reflect'
            avoids border artefacts, as in CycleGAN). Defaults to 'reflect'.
        init_cfg: See :class:`UnetGenerator`.
    """

    def __init__(self,
                 in_channels: int = 3,
                 out_channels: int = 3,
                 base_channels: int = 64,
                 num_blocks: int = 9,
                 norm_cfg: Optional[dict] = dict(type='IN'),
                 use_dropout: bool = False,
                 padding_mode: str = 'reflect',
                 init_cfg: Union[dict, List[dict], None] = dict(
                     type='normal', gain=0.02)):
        super().__init__(init_cfg=generation_init_cfg(init_cfg))
        if not isinstance(num_blocks, int) or num_blocks < 0:
            raise ValueError(f'num_blocks must be an int >= 0, got '
                             f'{num_blocks}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.num_blocks = num_blocks
        b = base_channels
        bias = _use_bias(norm_cfg)
        relu = dict(type='ReLU')
        layers = [
            ConvModule(in_channels, b, 7, padding=3, bias=bias,
                       norm_cfg=norm_cfg, act_cfg=relu,
                       padding_mode=padding_mode)
        ]
        for mult in (1, 2):
            layers.append(
                ConvModule(b * mult, b * mult * 2, 3, stride=2, padding=1,
                           bias=bias, norm_cfg=norm_cfg, act_cfg=relu))
        for _ in range(num_blocks):
            layers.append(
                ResnetBlock(4 * b, norm_cfg, use_dropout, padding_mode))
        for mult in (4, 2):
            layers.append(
                ConvModule(b * mult, b * mult // 2, 3, stride=2, padding=1,
                           bias=bias,
                           conv_cfg=dict(type='deconv', output_padding=1),
                           norm_cfg=norm_cfg, act_cfg=relu))
        layers.append(
            ConvModule(b, out_channels, 7, padding=3, bias=True,
                       norm_cfg=None, act_cfg=dict(type='Tanh'),
                       padding_mode=padding_mode))
        # plain container child: see the note in UnetGenerator
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Map an NCHW [-1, 1] tensor to an NCHW [-1, 1] tensor."""
        _check_input(self.__class__.__name__, x, self.in_channels, 4)
        return self.model(x)
