"""PSNR / SSIM between original person crops x and their transformed versions."""
import math
from collections import OrderedDict
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger
from skimage.filters import gaussian
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mmpose.registry import METRICS
from ._utils import as_dict, to_numpy

# (key suffix, field of ``portraits``): A = conventional desensitizer A(x),
# p = privacy-enhanced y' = G_X(x), r = recovered x' = G_Y(y'); key-locked models also
# r_wrongkey (G_Y unlocked with a wrong key) and r_nokey (G_Y on y' as sent).
PORTRAIT_PAIRS = (('p', 'enhanced'), ('r', 'recovered'), ('A', 'conventional'),
                  ('r_wrongkey', 'recovered_wrongkey'), ('r_nokey', 'recovered_nokey'))
# the visible-leak figure compares low-passed y' with low-passed A(x)
LEAK_PAIRS = ('p', 'A')


@METRICS.register_module()
class PortraitQualityMetric(BaseMetric):
    """PSNR and SSIM of every person crop against the original crop x.

    For each pair (o, A), (o, p), (o, r) -- original x vs. conventional A(x),
    privacy-enhanced y' = G_X(x) and recovered x' = G_Y(y') -- PSNR and SSIM
    are computed per person crop and averaged over all crops of the dataset.
    A low PSNR(o,p)/SSIM(o,p) means strong privacy protection; a high
    PSNR(o,r)/SSIM(o,r) means good recovery.

    The crops are read from ``data_sample['portraits']`` (fields ``original``,
    ``conventional``, ``enhanced``, ``recovered``: uint8 arrays (N, S, S, 3),
    BGR). Pairs whose field is missing (e.g. a conventional baseline has no
    ``enhanced``/``recovered``) are skipped; samples with N = 0 contribute
    nothing.

    Settings (scikit-image, Wang et al. 2004, "Image quality assessment: from
    error visibility to structural similarity"):

    - PSNR: ``peak_signal_noise_ratio(x, y, data_range=255)``.
    - SSIM: ``structural_similarity(x, y, data_range=255, channel_axis=-1,
      gaussian_weights=True, sigma=1.5, use_sample_covariance=False)``, i.e.
      11x11 Gaussian window with sigma 1.5, K1 = 0.01, K2 = 0.03, averaged over
      the three channels (so BGR vs. RGB order does not matter).

    Identical crops give PSNR = inf. Each per-crop PSNR is capped at
    ``psnr_cap`` (default 100 dB) before averaging, so one identical crop does
    not turn the dataset mean into inf. 100 dB is far above any realistic
    reconstruction (a single grey-level error in one pixel of a 128x128x3 crop
    gives 95 dB), so the cap only affects (near-)identical crops.

    Visible leak: what y' shows beyond A(x) to the eye, which sees low
    frequencies best. Both y' and A(x) are low-passed (Gaussian, ``leak_sigma``
    = 2 px at portrait scale, ``skimage.filters.gaussian``, per channel) and
    compared with the original crop: ``psnr_lp_o_p``, ``psnr_lp_o_A``, and
    ``leak_db`` = ``psnr_lp_o_p - psnr_lp_o_A`` (dataset means). A carrier
    hidden in the highest frequencies or decorrelated from the image gives
    ``leak_db`` <= 0; y' that shows clothing or silhouettes of x gives > 0.

    Output keys (only for the pairs present): ``psnr_o_p``, ``ssim_o_p``,
    ``psnr_o_r``, ``ssim_o_r``, ``psnr_o_A``, ``ssim_o_A``, the leak keys
    (when both p and A are present), plus ``num_portraits`` (number of
    original crops evaluated). With the default prefix the Evaluator reports
    them as ``portrait/psnr_o_p`` etc.

    Args:
        psnr_cap (float): Upper bound for a single crop's PSNR in dB.
            Defaults to 100.
        leak_sigma (float): Gaussian sigma (portrait pixels) of the visible-leak
            low-pass. Defaults to 2.
        collect_device (str): See :class:`mmengine.evaluator.BaseMetric`.
        prefix (str, optional): Metric-name prefix. Defaults to
            ``'portrait'``.
    """
    default_prefix: Optional[str] = 'portrait'

    def __init__(self,
                 psnr_cap: float = 100.0,
                 leak_sigma: float = 2.0,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not (isinstance(psnr_cap, (int, float)) and psnr_cap > 0):
            raise ValueError(f'psnr_cap must be a positive number, got {psnr_cap!r}')
        self.psnr_cap = float(psnr_cap)
        if not (isinstance(leak_sigma, (int, float)) and leak_sigma > 0):
            raise ValueError(f'leak_sigma must be a positive number, got {leak_sigma!r}')
        self.leak_sigma = float(leak_sigma)

    def lowpass(self, crop: np.ndarray) -> np.ndarray:
        """Gaussian low-pass (``leak_sigma``) of one uint8 crop, rounded back to uint8."""
        out = gaussian(crop.astype(np.float64), sigma=self.leak_sigma, channel_axis=-1,
                       preserve_range=True, mode='reflect', truncate=4.0)
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    @staticmethod
    def psnr(original: np.ndarray, other: np.ndarray) -> float:
        """Uncapped PSNR (dB) of one uint8 crop pair; inf when identical."""
        if np.array_equal(original, other):
            return math.inf  # skimage would warn about a division by zero
        return float(peak_signal_noise_ratio(original, other, data_range=255))

    @staticmethod
    def ssim(original: np.ndarray, other: np.ndarray) -> float:
        """SSIM of one uint8 (H, W, 3) crop pair with the Wang et al. settings."""
        return float(
            structural_similarity(
                original,
                other,
                data_range=255,
                channel_axis=-1,
                gaussian_weights=True,
                sigma=1.5,
                use_sample_covariance=False))

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Compute PSNR/SSIM of every crop of the batch (scalars are stored)."""
        # one result per data sample (also without crops): keeps the per-rank
        # result lists aligned for ``collect_results`` in distributed testing
        for data_sample in data_samples:
            data_sample = as_dict(data_sample)
            portraits = as_dict(data_sample.get('portraits'))
            if not portraits or portraits.get('original') is None:
                self.results.append({'num': 0})
                continue
            original = to_numpy(portraits['original'])
            if original.ndim != 4 or original.shape[-1] != 3:
                raise ValueError('portraits.original must have shape (N, S, S, 3), '
                                 f'got {original.shape}')
            if original.shape[0] and min(original.shape[1:3]) < 7:
                raise ValueError('portrait crops must be at least 7x7 pixels for SSIM, '
                                 f'got {original.shape[1:3]}')
            result = {'num': original.shape[0]}
            for short, field in PORTRAIT_PAIRS:
                if portraits.get(field) is None:
                    continue
                other = to_numpy(portraits[field])
                if other.shape != original.shape:
                    raise ValueError(f'portraits.{field} has shape {other.shape}, '
                                     f'expected {original.shape} like portraits.original')
                result[f'psnr_o_{short}'] = [self.psnr(o, y) for o, y in zip(original, other)]
                result[f'ssim_o_{short}'] = [self.ssim(o, y) for o, y in zip(original, other)]
                if short in LEAK_PAIRS:
                    result[f'psnr_lp_o_{short}'] = [self.psnr(o, self.lowpass(y))
                                                   for o, y in zip(original, other)]
            self.results.append(result)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Average the per-crop values over the whole dataset."""
        metrics = OrderedDict()
        for short, _ in PORTRAIT_PAIRS:
            psnr = [v for r in results for v in r.get(f'psnr_o_{short}', [])]
            if not psnr:
                continue
            ssim = [v for r in results for v in r.get(f'ssim_o_{short}', [])]
            metrics[f'psnr_o_{short}'] = float(np.mean(np.minimum(psnr, self.psnr_cap)))
            metrics[f'ssim_o_{short}'] = float(np.mean(ssim))
        lp = {short: [v for r in results for v in r.get(f'psnr_lp_o_{short}', [])]
              for short in LEAK_PAIRS}
        if all(lp.values()):
            for short, values in lp.items():
                metrics[f'psnr_lp_o_{short}'] = float(np.mean(np.minimum(values, self.psnr_cap)))
            metrics['leak_db'] = metrics['psnr_lp_o_p'] - metrics['psnr_lp_o_A']
        metrics['num_portraits'] = int(sum(r['num'] for r in results))
        if metrics['num_portraits'] == 0:
            MMLogger.get_current_instance().warning(
                'PortraitQualityMetric: no person crops were found in the data samples')
        return metrics
