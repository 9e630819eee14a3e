"""The joint model: privacy enhancement (G_X, D_Y, A), recovery (G_Y, D_X) and pose estimation (P)."""
import copy
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from mmengine.runner import load_checkpoint
from mmengine.structures import InstanceData
from mmpose.registry import MODELS
from torch import Tensor

from .pose_adapter import PoseAdapter
from .pose_band import portrait_keypoints
from .utils.distributed import all_reduce_grads
from .utils.keylock import random_keys
from .utils.portrait import crop_portraits, paste_portraits, square_boxes
from .utils.tiles import valid_mask

METHODS = ('ours', 'frozen_pose', 'conventional')
DEFAULT_METHOD = 'ours'
TEST_KEY_SEED = 20240904  # key-locked models: fixed test keys, so test runs repeat exactly
CYCLE_ORDERS = ('text', 'printed')
# Networks updated with one shared generator-side loss (eq. 12) in `train_step`.
GENERATOR_SIDE = ('enhancer', 'pose_band', 'recoverer', 'pose_estimator')


def to_unit(imgs: Tensor) -> Tensor:
    """[0, 255] → [-1, 1] (generator range)."""
    return imgs / 127.5 - 1.0


def to_pixels(x: Tensor) -> Tensor:
    """[-1, 1] → [0, 255]."""
    return (x + 1.0) * 127.5


def quantize_levels(x: Tensor) -> Tensor:
    """Round a [-1, 1] image to the 256 8-bit levels (values stay in [-1, 1] units)."""
    return torch.round(to_pixels(x).clamp(0, 255)) / 127.5 - 1.0


def quantize_ste(x: Tensor) -> Tensor:
    """:func:`quantize_levels` with a straight-through gradient.

    The privacy-enhanced crop leaves the camera as an 8-bit image, so G_Y is trained (and evaluated) on
    what it will receive; the gradient passes through unchanged so L_recovery still reaches G_X.
    """
    return x + (quantize_levels(x) - x).detach()


def set_requires_grad(module: Optional[torch.nn.Module], flag: bool) -> None:
    if module is not None:
        for p in module.parameters():
            p.requires_grad_(flag)


@MODELS.register_module()
class ReCanon(BaseModel):
    """Reversible privacy-preserving pose estimation, trained end to end.

    Paper symbols → attributes: G_X = ``enhancer``, G_Y = ``recoverer``, D_Y = ``disc_enhanced``
    (judges y | x: A(x) real, G_X(x) fake), D_X = ``disc_recovered`` (judges x | y': x real, G_Y(y') fake),
    A = ``desensitizer``, P = ``pose_estimator``.

    Losses (paper eqs. 1–12):
      L_enhance   = L_DY + L_GX + λ1·L_XY       (``gan_loss``; ``enhance_loss`` = ThresholdL1Loss, weight λ1)
      L_recovery  = L_GY + L_DX + λ2·L_cons     (``consistency_loss`` weight λ2)
      L_PE        = L_P(G_Y(y')) + L_P(y')      (P's own loss; weighted by ``pose_loss_weight`` = λ3)
      L           = L_enhance + L_recovery + λ3·L_PE
    Discriminators maximise their own terms; G_X, G_Y and P minimise the rest jointly, each with its own
    optimizer wrapper (Adam for G/D, AdamW for P), in the style of mmagic's Pix2Pix ``train_step``.

    Gradient routing (tested in tests/test_recanon.py):
      D_Y ← L_DY only; D_X ← L_DX only; P ← L_PE only;
      G_Y ← L_GY, L_cons, L_PE(recovered);
      G_X ← L_GX, L_XY, L_GY, L_cons, L_PE(enhanced), L_PE(recovered)  (everything downstream of y').

    Args:
        pose_estimator (dict): MMPose estimator config (P).
        enhancer, recoverer (dict): generator configs (G_X, G_Y).
        disc_enhanced, disc_recovered (dict): conditional PatchGAN configs (D_Y, D_X).
        desensitizer (dict): ``Desensitizer`` config (A).
        gan_loss, enhance_loss, consistency_loss (dict): loss configs.
        pose_loss_weight (float): λ3.
        pose_mode (str): 'bottomup' or 'topdown' (see ``PoseAdapter``).
        pose_codec (dict, optional): P's codec, needed for top-down P.
        portrait_size (int): side of the square crops x fed to G_X.
        portrait_margin (float): crop side = longest bbox side × margin.
        method (str): 'ours' (joint training), 'frozen_pose' (P fixed: conventional fine-tune baseline)
            or 'conventional' (no G/D; P trained alone on A(x) images — the paper's "Conventional" rows).
        cycle_order (str): 'text' computes eq. 8 as L1(G_Y(G_X(x)), x) (the paper's definition in words);
            'printed' uses the printed G_X(G_Y(x)), which feeds G_Y an original image it never sees in use.
        quantize (bool): round y' to 8 bits before G_Y (straight-through) in training and prediction.
        zeroshot_pose_estimator (dict, optional) / zeroshot_checkpoint (str, optional): a P trained on
            originals only, run frozen on privacy-enhanced frames at test time (Tab. 1 "zero-shot").
        key_lock (dict, optional): ``KeyedCarrier`` config: key-locked recovery (not in the paper; see
            ``models/utils/keylock.py``).  Training draws a random key per batch and a nonce per portrait;
            ``predict`` uses fixed test keys and adds the views ``recovered_wrongkey`` (G_Y unlocked with
            another key) and ``recovered_nokey`` (G_Y on y' as sent).
        carrier (dict, optional): ``HaarCarrier`` config (not in the paper; ``models/utils/carrier.py``):
            y' = A(x) + π(D(b·G_X(x))), a bounded carrier in the Haar detail bands only, scrambled by a
            public (``keyed=False``) or secret (``keyed=True``: a key lock, as ``key_lock``) permutation.
            Exclusive with ``key_lock``. None: y' = G_X(x) (the paper).
        recover_residual (bool): x' = u + G_Y(u) for G_Y's input u (the unlocked y') instead of
            x' = G_Y(u): G_Y learns what A(x) and the carrier removed, not the whole portrait.
        native_resolution (bool): the inference API (``apis/inference.py``) anonymizes and recovers each
            person at the frame's own resolution, in ``portrait_size`` tiles with A at the person's scale
            (``models/utils/tiles.py``), instead of resampling the person to a ``portrait_size`` portrait.
            Needs a carrier. Training on frames (P, ``tools/test.py``) still uses portraits; tiles for G_X
            and G_Y come from the ``NativePersonTile`` transform.
        pose_band (dict, optional): ``PoseBand`` config (not in the paper; ``models/pose_band.py``): a bounded
            low-band image B(x) added to the carrier's y' for P to read, trained through L_PE(y'). Needs a
            carrier (without one G_X is free to put anything into y' anyway). It has its own optimizer
            wrapper (``pose_band``).
        band_face_loss (dict, optional): ``FaceSuppressionLoss`` config: keeps the band off the faces of the
            ground truth (frames with keypoints). Needs ``pose_band``.
        recovery_feature_loss (dict, optional): ``PoseFeatureLoss`` config (not in the paper): x' and x as
            the frozen zero-shot P (trained on originals) sees them should match, on every batch (frames'
            portraits and tiles). Trains G_Y (and G_X through y'), not P, not the band. Needs
            ``zeroshot_pose_estimator``.
    """

    def __init__(self,
                 pose_estimator: dict,
                 enhancer: Optional[dict] = None,
                 recoverer: Optional[dict] = None,
                 disc_enhanced: Optional[dict] = None,
                 disc_recovered: Optional[dict] = None,
                 desensitizer: dict = dict(type='Desensitizer', kind='blur', radius=8),
                 gan_loss: dict = dict(type='GANLoss', gan_type='lsgan', loss_weight=1.0),
                 enhance_loss: dict = dict(type='ThresholdL1Loss', threshold=0.05, loss_weight=100.0),
                 consistency_loss: dict = dict(type='ConsistencyLoss', loss_weight=100.0),
                 pose_loss_weight: float = 1.0,
                 pose_mode: str = 'bottomup',
                 pose_codec: Optional[dict] = None,
                 portrait_size: int = 256,
                 portrait_margin: float = 1.25,
                 method: str = DEFAULT_METHOD,
                 cycle_order: str = 'text',
                 quantize: bool = True,
                 zeroshot_pose_estimator: Optional[dict] = None,
                 zeroshot_checkpoint: Optional[str] = None,
                 key_lock: Optional[dict] = None,
                 carrier: Optional[dict] = None,
                 recover_residual: bool = False,
                 native_resolution: bool = False,
                 pose_band: Optional[dict] = None,
                 band_face_loss: Optional[dict] = None,
                 recovery_feature_loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='PoseDataPreprocessor')  # stack only: frames stay in [0, 255]
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        # progressive supervision (ProgressiveSupervisionHook): the frozen G_X of the previous stage; a dict,
        # not a submodule, so it is in no state dict and no optimizer (the hook checkpoints it itself)
        self._supervision: Dict[str, torch.nn.Module] = {}
        if method not in METHODS:
            raise ValueError(f'method must be one of {METHODS}, got {method!r}')
        if cycle_order not in CYCLE_ORDERS:
            raise ValueError(f'cycle_order must be one of {CYCLE_ORDERS}, got {cycle_order!r}')
        self.method = method
        self.cycle_order = cycle_order
        self.quantize = quantize
        self.portrait_size = int(portrait_size)
        self.portrait_margin = float(portrait_margin)
        self.pose_loss_weight = float(pose_loss_weight)
        self.recover_residual = bool(recover_residual)
        self.native_resolution = bool(native_resolution)

        self.pose_estimator = MODELS.build(pose_estimator)
        self.pose = PoseAdapter(self.pose_estimator, pose_mode, pose_codec)
        self.desensitizer = MODELS.build(desensitizer)
        self.adversarial = False
        if self.method_has_generators(method):
            for name, cfg in dict(enhancer=enhancer, recoverer=recoverer).items():
                if cfg is None:
                    raise ValueError(f"method={method!r} needs '{name}' in the model config")
            if (disc_enhanced is None) != (disc_recovered is None):
                raise ValueError('disc_enhanced and disc_recovered go together (both None: no GAN terms)')
            self.enhancer = MODELS.build(enhancer)
            self.recoverer = MODELS.build(recoverer)
            # without discriminators the GAN terms L_DY, L_GX, L_GY, L_DX are left out (pix2pix's L1-only
            # ablation): a scrambled carrier is noise D_Y would simply learn to reject
            self.adversarial = disc_enhanced is not None
            if self.adversarial:
                self.disc_enhanced = MODELS.build(disc_enhanced)
                self.disc_recovered = MODELS.build(disc_recovered)
                self.gan_loss = MODELS.build(gan_loss)
            self.enhance_loss = MODELS.build(enhance_loss)
            self.consistency_loss = MODELS.build(consistency_loss)
        if method == 'frozen_pose':
            set_requires_grad(self.pose_estimator, False)
        self.key_lock = None
        self.carrier = None
        if key_lock is not None and carrier is not None:
            raise ValueError('key_lock and carrier are exclusive (a keyed carrier is HaarCarrier(keyed=True))')
        if native_resolution and carrier is None:
            raise ValueError('native_resolution needs a carrier (HaarCarrier): tiles are padded, and only a '
                             'carrier confines what G_X adds to the real part of a tile')
        if (key_lock or carrier) is not None:
            if not self.method_has_generators(method):
                raise ValueError("key_lock/carrier need generators; method='conventional' has none")
            self.carrier = MODELS.build(key_lock or carrier)
            # a keyed carrier is the key lock: recovery (and anonymization) need the key
            if getattr(self.carrier, 'keyed', True):
                self.key_lock = self.carrier

        self.pose_band = self.band_face_loss = None
        if pose_band is not None:
            if self.carrier is None:
                raise ValueError('pose_band needs a carrier (HaarCarrier or key_lock): without one y\' = G_X(x) '
                                 'already shows P whatever G_X learns')
            self.pose_band = MODELS.build(pose_band)
        if band_face_loss is not None:
            if self.pose_band is None:
                raise ValueError('band_face_loss needs pose_band')
            self.band_face_loss = MODELS.build(band_face_loss)

        self.zeroshot_checkpoint = zeroshot_checkpoint
        self.zeroshot_pose_estimator = None
        if zeroshot_pose_estimator is not None:
            self.zeroshot_pose_estimator = MODELS.build(zeroshot_pose_estimator)
            set_requires_grad(self.zeroshot_pose_estimator, False)
            self.zeroshot = PoseAdapter(self.zeroshot_pose_estimator, pose_mode, pose_codec)
        self.recovery_feature_loss = None
        if recovery_feature_loss is not None:
            if self.zeroshot_pose_estimator is None or not self.has_generators:
                raise ValueError('recovery_feature_loss compares x\' and x in the features of the frozen P trained '
                                 'on originals: it needs generators and zeroshot_pose_estimator (+ its checkpoint)')
            self.recovery_feature_loss = MODELS.build(recovery_feature_loss)

    @property
    def has_generators(self) -> bool:
        return self.method_has_generators(self.method)

    @staticmethod
    def method_has_generators(method: str) -> bool:
        """Whether ``method`` builds G_X/G_Y (every method but the Conventional baseline's)."""
        return method != 'conventional'

    @staticmethod
    def config_has_generators(model_cfg) -> bool:
        """``has_generators`` of the ReCanon that ``model_cfg`` (a ``model`` dict) builds, without building it."""
        return ReCanon.method_has_generators(model_cfg.get('method', DEFAULT_METHOD))

    def init_weights(self):
        super().init_weights()
        self.load_zeroshot()

    def load_zeroshot(self) -> bool:
        """Fill the zero-shot P from ``zeroshot_checkpoint`` (a P trained on originals only); False if none.

        ``init_weights`` does it for training; testing builds the model without ``init_weights``, so a
        checkpoint without ``zeroshot_pose_estimator.*`` weights needs it too (``tools/test.py``)."""
        if self.zeroshot_pose_estimator is None or not self.zeroshot_checkpoint:
            return False
        if not osp.isfile(self.zeroshot_checkpoint):
            raise FileNotFoundError(f'zero-shot P checkpoint not found: {self.zeroshot_checkpoint} (the '
                                    "config's zeroshot_checkpoint; for \"pre\", the YOLOv8 converter's output)")
        load_checkpoint(self.zeroshot_pose_estimator, self.zeroshot_checkpoint, map_location='cpu',
                        revise_keys=[(r'^pose_estimator\.', '')])
        return True

    def train(self, mode: bool = True):
        super().train(mode)
        if self.method == 'frozen_pose':
            self.pose_estimator.eval()
        if self.zeroshot_pose_estimator is not None:
            self.zeroshot_pose_estimator.eval()
        return self

    # ------------------------------------------------------------------ portraits
    @staticmethod
    def person_boxes(data_samples: Sequence, use_meta: bool,
                     device: torch.device = torch.device('cpu')) -> List[Tensor]:
        """Person boxes (input space) of each frame: ``portrait_bboxes`` meta (test) or the ground truth."""
        boxes = []
        for ds in data_samples:
            if use_meta and 'portrait_bboxes' in ds.metainfo:
                b = ds.metainfo['portrait_bboxes']
            elif 'gt_instances' in ds and 'bboxes' in ds.gt_instances:
                b = ds.gt_instances.bboxes
            else:
                b = np.zeros((0, 4), np.float32)
            boxes.append(torch.as_tensor(np.asarray(b), dtype=torch.float32).reshape(-1, 4).to(device))
        return boxes

    def portrait_boxes(self, data_samples: Sequence, use_meta: bool,
                       device: torch.device = torch.device('cpu')) -> List[Tensor]:
        """Square crop boxes (input space) around every person box of each frame."""
        return [square_boxes(b, self.portrait_margin) for b in self.person_boxes(data_samples, use_meta, device)]

    def crop(self, imgs: Tensor, boxes: List[Tensor]) -> Tensor:
        """x: portraits in [-1, 1]; outside the frame they are mid-grey (0)."""
        return crop_portraits(to_unit(imgs), boxes, self.portrait_size, pad_value=0.0)

    def paste(self, imgs: Tensor, crops: Tensor, boxes: List[Tensor]) -> Tensor:
        """Frames with crops (in [-1, 1]) pasted back; every other pixel is the input's."""
        if crops.shape[0] == 0:
            return imgs
        return paste_portraits(imgs, to_pixels(crops).clamp(0, 255), boxes)

    def enhance(self, x: Tensor, keys: Optional[Sequence[bytes]] = None,
                nonces: Optional[Sequence[bytes]] = None, a: Optional[Tensor] = None,
                valid: Optional[Sequence[Tuple[int, int]]] = None, enhancer=None,
                band: Optional[Tensor] = None) -> Tensor:
        """y' = G_X(x) for portraits in [-1, 1] (8-bit levels if ``quantize``), locked if ``key_lock``.

        ``a``: A(x) when it was computed outside the portrait (native-resolution tiles; default
        ``desensitizer(x)``); ``valid``: the real (h, w) part of each padded tile (``models/utils/tiles.py``);
        ``enhancer``: another G_X in G_X's place (the progressive supervisor); ``band``: B(x) when the caller
        computed it already (``translate``).
        """
        y = (self.enhancer if enhancer is None else enhancer)(x)
        if self.carrier is not None:
            if self.key_lock is not None and keys is None:
                raise ValueError('this model is key-locked: enhancing needs a key and a nonce per portrait')
            a = self.desensitizer(x) if a is None else a
            y = self.carrier.lock(y, a, keys, nonces, valid)
            if self.pose_band is not None and valid is None:  # tiles: their person's band, frame_band
                y = y + (self.band(x) if band is None else band)
            y = y.clamp(-1, 1)
        elif valid is not None:
            raise ValueError('padded tiles (valid=...) need a carrier: without one G_X paints the padding too')
        return quantize_ste(y) if self.quantize else y

    def band(self, x: Tensor) -> Tensor:
        """B(x), the pose band of whole-person portraits x (``models/pose_band.py``)."""
        return self.pose_band(x)

    def frame_band(self, imgs: Tensor, person_boxes: Tensor) -> Tensor:
        """B at each person's portrait scale, pasted back at the person's size: the band of native-resolution y'.

        B is made for whole-person portraits (what L_PE(y') trains it on: ``portrait_size`` px, the person
        filling it); a native-resolution tile shows a part of a person at the frame's scale, so tiles get no
        band of their own (:meth:`enhance` with ``valid``). Instead each person's square portrait is cut as
        the frame path cuts it (``square_boxes``), B computed there and resampled onto the frame, larger
        persons on top (``paste_portraits``). B is smooth (bounded, constant on 2×2 portrait blocks), so the
        resampling keeps what P reads; the result is made constant on the frame's 2×2 blocks again (their
        mean), so that it stays in the Haar low band of every tile (native regions and their tiles start on
        even pixels) and leaves the carrier's detail bands alone, as on portraits. ``imgs``: (1, C, H, W) in
        pixels; returns (1, C, H, W) in [-1, 1] units, zero outside the persons' portrait boxes (up to their
        2×2 blocks; the caller keeps it inside its regions).
        """
        boxes = [square_boxes(person_boxes.reshape(-1, 4).to(imgs).float(), self.portrait_margin)]
        if not len(boxes[0]):
            return torch.zeros_like(imgs)
        band = paste_portraits(torch.zeros_like(imgs), self.band(self.crop(imgs, boxes)), boxes)
        h, w = band.shape[-2:]
        blocks = F.avg_pool2d(band, 2, ceil_mode=True)  # a partial block at an odd edge: the mean of its pixels
        return F.interpolate(blocks, scale_factor=2, mode='nearest')[..., :h, :w]

    def recover(self, y: Tensor, keys: Optional[Sequence[bytes]] = None,
                nonces: Optional[Sequence[bytes]] = None,
                valid: Optional[Sequence[Tuple[int, int]]] = None) -> Tensor:
        """x' = G_Y(y') for privacy-enhanced portraits in [-1, 1] (unlocked with ``keys`` if key-locked;
        ``keys=None`` on a key-locked model feeds y' as it is: the absent-key case)."""
        if self.carrier is not None:
            y = self.carrier.unlock(y, keys, nonces, valid)
        if self.recover_residual:
            return (y + self.recoverer(y)).clamp(-1, 1)
        return self.recoverer(y)

    def translate(self, x: Tensor, keys: Optional[Sequence[bytes]] = None,
                  nonces: Optional[Sequence[bytes]] = None, a: Optional[Tensor] = None,
                  valid: Optional[Sequence[Tuple[int, int]]] = None) -> Dict[str, Tensor]:
        """A(x), y' = G_X(x) and x' = G_Y(y') for a batch of portraits (``a``, ``valid``: see :meth:`enhance`),
        the training target of y' (``target``) and, with a pose band, B(x) (``band``).

        Key-locked: without ``keys`` a random key (shared by the batch) and nonces are drawn from torch's
        RNG, as in training.
        """
        out = dict(conventional=self.desensitizer(x) if a is None else a)
        if self.has_generators:
            if self.key_lock is not None and keys is None:
                keys, nonces = random_keys(len(x))
            band = None
            if self.pose_band is not None and valid is None:  # tiles have none (frame_band)
                band = out['band'] = self.band(x)
            out['enhanced'] = self.enhance(x, keys, nonces, out['conventional'], valid, band=band)
            # G_Y takes the band out of y' but does not train it: only L_PE(y') does (models/pose_band.py)
            sent = out['enhanced'] if band is None else out['enhanced'] - band + band.detach()
            out['recovered'] = self.recover(sent, keys, nonces, valid)
            out['target'] = self.supervision_target(x, out['conventional'], keys, nonces, valid)
        return out

    # ------------------------------------------------------------------ progressive supervision
    @property
    def supervisor(self) -> Optional[torch.nn.Module]:
        """The frozen G_X of the previous supervision stage, or None (y' is supervised by A(x), the paper)."""
        return self._supervision.get('enhancer')

    def upgrade_supervision(self, enhancer_state: Optional[dict] = None) -> None:
        """Start a supervision stage: a frozen copy of G_X (or of G_X with ``enhancer_state``) supervises y'.

        Zhang, Ye, Yang (ACM MM 2022, junwuzhang19/privacy-reid): the anonymizer starts from A(x) as its
        target and the images of a previous stage become the new one (``ProgressiveSupervisionHook``).
        """
        supervisor = copy.deepcopy(self.enhancer)
        if enhancer_state is not None:
            supervisor.load_state_dict(enhancer_state)
        self._supervision['enhancer'] = supervisor.eval().requires_grad_(False)

    def supervision_target(self, x: Tensor, a: Tensor, keys=None, nonces=None, valid=None) -> Tensor:
        """What y' is pulled towards (L_XY) and what D_Y takes as real: A(x) (the paper), or after an upgrade
        the supervisor's y' of the same portraits (same key, nonces, A and carrier), without gradient."""
        if self.supervisor is None:
            return a
        with torch.no_grad():
            return self.enhance(x, keys, nonces, a, valid, enhancer=self.supervisor)  # enhance adds B(x) itself

    # ------------------------------------------------------------------ losses
    def _pose_losses(self, imgs: Tensor, data_samples: Sequence, tag: str) -> Dict[str, Tensor]:
        losses = self.pose.loss(imgs, data_samples)
        out = {}
        for k, v in losses.items():
            if 'loss' in k:
                out[f'{k}_{tag}'] = v * self.pose_loss_weight
            elif k.startswith('acc'):
                out[f'{k}_{tag}'] = v.detach() if isinstance(v, Tensor) else torch.as_tensor(v)
        return out

    def discriminator_losses(self, x: Tensor, trans: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """L_DY (eqs. 1/2) and L_DX (eqs. 6/7; the paper's eq. 6 writes D_Y, D_X is meant)."""
        y = trans['enhanced'].detach()
        r = trans['recovered'].detach()
        real_y = trans.get('target', trans['conventional'])  # A(x), or the progressive supervisor's y'
        d_y = 0.5 * (self.gan_loss(self.disc_enhanced(real_y, x), True, is_disc=True) +
                     self.gan_loss(self.disc_enhanced(y, x), False, is_disc=True))
        d_x = 0.5 * (self.gan_loss(self.disc_recovered(x, y), True, is_disc=True) +
                     self.gan_loss(self.disc_recovered(r, y), False, is_disc=True))
        return dict(loss_d_y=d_y, loss_d_x=d_x)

    def generator_losses(self, imgs: Tensor, data_samples: Sequence, x: Tensor, boxes: List[Tensor],
                         trans: Dict[str, Tensor],
                         valid: Optional[Sequence[Tuple[int, int]]] = None) -> Dict[str, Tensor]:
        """Every term G_X, G_Y and P minimise, un-summed; D_Y and D_X are frozen while they judge.

        Padded tiles (``valid``) count their real part only: y' is A(x) and x' is x on the padding."""
        y, r, a = trans['enhanced'], trans['recovered'], trans['conventional']
        target = trans.get('target', a)  # A(x), or the progressive supervisor's y'
        if valid is not None:
            mask = valid_mask(valid, x.shape[-1], x)
            y, r, target = torch.where(mask, y, a), torch.where(mask, r, x), torch.where(mask, target, a)
        losses = dict(loss_xy=self.enhance_loss(y, target))
        if self.adversarial:
            set_requires_grad(self.disc_enhanced, False)
            set_requires_grad(self.disc_recovered, False)
            try:
                losses.update(loss_g_x=self.gan_loss(self.disc_enhanced(y, x), True),
                              loss_g_y=self.gan_loss(self.disc_recovered(r, y), True))
            finally:
                set_requires_grad(self.disc_enhanced, True)
                set_requires_grad(self.disc_recovered, True)
        cycle = r if self.cycle_order == 'text' else self.enhancer(self.recoverer(x))
        losses['loss_cons'] = self.consistency_loss(cycle, x)
        if self.recovery_feature_loss is not None:  # the frozen P trained on originals: x' as x to it
            with torch.no_grad():
                seen = self.zeroshot.features(to_pixels(x))
            losses['loss_feat'] = self.recovery_feature_loss(self.zeroshot.features(to_pixels(r)), seen)
        if 'band' in trans:  # logged, not a loss: mean |B(x)| in grey levels
            losses['band_grey'] = trans['band'].detach().abs().mean() * 127.5
        if self.band_face_loss is not None and boxes is not None:
            kpts = portrait_keypoints(data_samples, boxes, self.portrait_size)
            if kpts is not None:
                losses['loss_band_face'] = self.band_face_loss(trans['band'], *kpts)
        if self.trains_pose_loss and boxes is not None:  # frames (tiles have no frame to pose)
            losses.update(self._pose_losses(self.paste(imgs, y, boxes), data_samples, 'p'))
            losses.update(self._pose_losses(self.paste(imgs, r, boxes), data_samples, 'r'))
        return losses

    @property
    def trains_pose_loss(self) -> bool:
        """λ3 = 0 leaves P out of training altogether (a portrait-only phase: G_X and G_Y, no P forward)."""
        return self.pose_loss_weight > 0

    @staticmethod
    def is_tile_batch(data_samples: Sequence) -> bool:
        """A batch of native-resolution tiles (``NativePersonTile``) rather than frames."""
        return len(data_samples) > 0 and 'tile_valid' in data_samples[0].metainfo

    def batch_portraits(self, imgs: Tensor, data_samples: Sequence):
        """(x, A(x) or None, valid sizes or None, portrait boxes or None) of a training batch.

        Frames: portraits cut at ``portrait_boxes`` (A is computed in ``translate``). Tiles: the packed
        x | A(x) channels and each tile's real size; they train G_X and G_Y only (P needs frames), also in a
        joint run that mixes them with frames (``SourceBatchSampler``).
        """
        if not self.is_tile_batch(data_samples):
            boxes = self.portrait_boxes(data_samples, use_meta=False, device=imgs.device)
            return self.crop(imgs, boxes), None, None, boxes
        if not self.has_generators or self.adversarial:
            raise ValueError('native-resolution tile batches (NativePersonTile) train G_X and G_Y with the L1 '
                             'terms only: a model with G_X/G_Y and no discriminators')
        if imgs.shape[1] != 6:
            raise ValueError(f'tile batches pack x and A(x) as 6 channels, got {imgs.shape[1]}')
        valid = [tuple(int(v) for v in ds.metainfo['tile_valid']) for ds in data_samples]
        return to_unit(imgs[:, :3]), to_unit(imgs[:, 3:]), valid, None

    def loss(self, inputs: Tensor, data_samples: Sequence) -> Dict[str, Tensor]:
        """All loss terms of one batch (discriminator terms with detached generator outputs)."""
        x, a, valid, boxes = self.batch_portraits(inputs, data_samples)
        trans = self.translate(x, a=a, valid=valid)
        if not self.has_generators:
            return self._pose_losses(self.paste(inputs, trans['conventional'], boxes), data_samples, 'a')
        losses = self.generator_losses(inputs, data_samples, x, boxes, trans, valid)
        if self.adversarial:
            losses.update(self.discriminator_losses(x, trans))
        return losses

    # ------------------------------------------------------------------ training
    def train_step(self, data, optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        data = self.data_preprocessor(data, True)
        imgs, samples = data['inputs'], data['data_samples']
        x, a, valid, boxes = self.batch_portraits(imgs, samples)

        if not self.has_generators:
            wrapper = optim_wrapper['pose_estimator']
            with wrapper.optim_context(self.pose_estimator):
                a = self.desensitizer(x)
                losses = self._pose_losses(self.paste(imgs, a, boxes), samples, 'a')
            parsed, log_vars = self.parse_losses(losses)
            self._update([wrapper], parsed)
            return log_vars

        with optim_wrapper['enhancer'].optim_context(self.enhancer):
            trans = self.translate(x, a=a, valid=valid)

        log_vars = {}
        if x.shape[0] > 0 and self.adversarial:
            # 1. discriminators (generator outputs detached).
            for name, key in (('disc_enhanced', 'loss_d_y'), ('disc_recovered', 'loss_d_x')):
                with optim_wrapper[name].optim_context(getattr(self, name)):
                    d_losses = self.discriminator_losses(x, trans)
                parsed, d_log = self.parse_losses({key: d_losses[key]})
                self._update([optim_wrapper[name]], parsed)
                log_vars[key] = d_log[key]

        # 2. G_X, G_Y and P on one shared loss (discriminators frozen inside generator_losses).
        with optim_wrapper['enhancer'].optim_context(self.enhancer):
            if x.shape[0] > 0:
                g_losses = self.generator_losses(imgs, samples, x, boxes, trans, valid)
            elif self.trains_pose_loss:  # no person in the batch: P still learns on the (unchanged) frames
                g_losses = self._pose_losses(imgs, samples, 'p')
            else:  # nobody to train on
                return log_vars
        parsed, g_log = self.parse_losses(g_losses)
        poses = self.method == 'ours' and self.trains_pose_loss and boxes is not None  # P learns on frames only
        names = [n for n in GENERATOR_SIDE if n in optim_wrapper and (n != 'pose_estimator' or poses)]
        self._update([optim_wrapper[n] for n in names], parsed)
        log_vars.update(g_log)
        return log_vars

    @staticmethod
    def _update(wrappers: list, loss: Tensor) -> None:
        """One backward of ``loss``, gradient averaging across processes, then one step per wrapper.

        Several wrappers share the generator-side loss (eq. 12).  With ``AmpOptimWrapper`` the first
        wrapper's GradScaler scales the loss and steps every optimizer (PyTorch's recipe for several
        optimizers on one loss), then updates its scale once.
        """
        scaler = getattr(wrappers[0], 'loss_scaler', None)
        (loss if scaler is None else scaler.scale(loss)).backward()
        all_reduce_grads([p for w in wrappers for g in w.optimizer.param_groups for p in g['params']])
        for w in wrappers:
            if scaler is None:
                w.step()
            else:
                scaler.step(w.optimizer)
            w.zero_grad()
        if scaler is not None:
            scaler.update()

    # ------------------------------------------------------------------ inference
    def forward(self, inputs: Tensor, data_samples: Optional[list] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':  # portraits in, privacy-enhanced portraits out (G_X alone)
            return self.enhancer(inputs) if self.has_generators else self.desensitizer(inputs)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    @torch.no_grad()
    def predict(self, inputs: Tensor, data_samples: Sequence) -> list:
        """Per frame: privacy-enhanced / recovered / A(x) frames, portraits, and P on every view.

        Adds to each data sample: ``pred_instances`` (P on the privacy-enhanced frame; on A(x) for the
        conventional method), ``pred_instances_<view>`` for views original, conventional, enhanced,
        recovered (and zeroshot), ``portraits`` (uint8 N×S×S×3 crops + input-space boxes) and the frames
        ``<view>_img`` (uint8 H×W×3, input space).
        """
        people = self.person_boxes(data_samples, use_meta=True, device=inputs.device)
        boxes = [square_boxes(b, self.portrait_margin) for b in people]
        x = self.crop(inputs, boxes)
        if self.key_lock is None:
            trans = self.translate(x)
        else:  # fixed test keys: the right one, and a wrong one for the same nonces
            keys, nonces = random_keys(len(x), torch.Generator().manual_seed(TEST_KEY_SEED))
            wrong, _ = random_keys(len(x), torch.Generator().manual_seed(TEST_KEY_SEED + 1))
            trans = self.translate(x, keys, nonces)
            trans['recovered_wrongkey'] = self.recover(trans['enhanced'], wrong, nonces)
            trans['recovered_nokey'] = self.recover(trans['enhanced'])
        trans.pop('target', None)  # a training target (A(x) or the progressive supervisor's y'), not a view
        trans.pop('band', None)  # B(x) is inside y', not a view
        frames = dict(original=inputs)
        for view, crops in trans.items():
            frames[view] = self.paste(inputs, crops, boxes)
        for view in ('recovered', 'recovered_wrongkey', 'recovered_nokey'):
            if view in trans:  # x' is pasted into the frame that was sent (y'), same pixels elsewhere
                frames[view] = self.paste(frames['enhanced'], trans[view], boxes)

        # top-down P gets the person boxes it was trained on (bottom-up P ignores them)
        preds = {view: self.pose.predict(f, data_samples, people) for view, f in frames.items()}
        if self.zeroshot_pose_estimator is not None and 'enhanced' in frames:
            preds['zeroshot'] = self.zeroshot.predict(frames['enhanced'], data_samples, people)
        main = 'enhanced' if self.has_generators else 'conventional'

        counts = [len(b) for b in boxes]
        crops_u8 = {k: to_uint8(to_pixels(v)).split(counts) for k, v in dict(original=x, **trans).items()}
        for i, ds in enumerate(data_samples):
            for view, p in preds.items():
                ds.set_field(p[i], f'pred_instances_{view}')
            ds.pred_instances = preds[main][i]
            ds.portraits = InstanceData(bboxes=boxes[i].cpu().numpy(),
                                        **{k: v[i].permute(0, 2, 3, 1).cpu().numpy() for k, v in crops_u8.items()})
            for view, f in frames.items():
                ds.set_field(to_uint8(f[i:i + 1])[0].permute(1, 2, 0).cpu().numpy(), f'{view}_img')
        return data_samples


def to_uint8(x: Tensor) -> Tensor:
    """[0, 255] float → uint8 (rounded, clamped)."""
    return torch.round(x.clamp(0, 255)).to(torch.uint8)
