"""Evaluate the pose estimator P on every image view the joint model produces."""
import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.dist import all_reduce
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from mmpose.registry import METRICS
from ._utils import as_dict

#: views of the joint model (``pred_instances_<view>`` fields of its data samples):
#: original x, privacy-enhanced y' = G_X(x), recovered x' = G_Y(y'), conventional A(x),
#: and a zero-shot P (trained on originals only) run on the privacy-enhanced image.
DEFAULT_VIEWS = ('original', 'enhanced', 'recovered', 'conventional', 'zeroshot')


def _fix_bottomup_category(data_sample: dict) -> None:
    """Bottom-up data samples carry one ``category_id`` per GT person (a
    list / array) when ``PackPoseInputs`` keeps it in ``meta_keys``; CocoMetric needs
    one id per image. A list of equal ids (all 'person') becomes that id; a
    mixed list is an error."""
    category = data_sample.get('category_id')
    if isinstance(category, (list, tuple, np.ndarray)):
        ids = np.unique(np.asarray(category).reshape(-1))
        if len(ids) > 1:
            raise ValueError(f'one category per image expected, got category_id={ids.tolist()}')
        if len(ids):
            data_sample['category_id'] = ids[0].item()
        else:
            del data_sample['category_id']  # no GT person: CocoMetric's default (1)


@METRICS.register_module()
class MultiViewPoseMetric(BaseMetric):
    """Run one or more MMPose metrics on each prediction view separately.

    For every view ``v`` in ``views`` and every inner metric config in
    ``metric``, an inner metric is built from a deep copy of the config. In
    :meth:`process` each inner metric of view ``v`` receives the data samples
    with ``pred_instances`` replaced by ``pred_instances_<v>``; all other
    fields (``gt_instances``, ``id``, ``img_id``, ``raw_ann_info``...) are
    passed unchanged. :meth:`evaluate` returns the inner results prefixed with
    the view name, e.g. ``enhanced/coco/AP .5`` and ``enhanced/coco/AR .5``
    for a ``CocoMetric`` (the paper's mAP@0.5 / mAR@0.5) or
    ``recovered/pckh/PCKh`` for :class:`MatchedPCKhMetric`.

    A per-person ``category_id`` list of bottom-up samples (kept by
    ``PackPoseInputs``' default ``meta_keys``) is reduced to the single
    category id CocoMetric expects.

    Missing views: a view whose ``pred_instances_<v>`` field is absent from
    the data samples is skipped silently (e.g. a conventional baseline has no
    ``recovered`` view, a model without zero-shot P no ``zeroshot`` view). A
    view is evaluated only if it is present in *every* processed sample (the
    count is summed over ranks); a view present in only some samples is
    skipped with a warning, because scoring a partial prediction set against
    the full ground truth would be misleading.

    Args:
        metric (dict | list[dict]): Config(s) of the inner metric(s), e.g.
            ``dict(type='CocoMetric', ann_file='.../person_keypoints_val.json')``.
        views (Sequence[str]): Views to evaluate. Defaults to
            ``('original', 'enhanced', 'recovered', 'conventional', 'zeroshot')``.
        collect_device (str): See :class:`mmengine.evaluator.BaseMetric`.
        prefix (str, optional): Extra prefix before the view name. Defaults
            to None (keys start with the view name).
    """
    default_prefix: Optional[str] = None

    def __init__(self,
                 metric: Union[dict, List[dict]],
                 views: Sequence[str] = DEFAULT_VIEWS,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        # ``prefix`` is applied in ``evaluate``; BaseMetric would warn about a missing one
        self._outer_prefix = prefix
        super().__init__(collect_device=collect_device, prefix=prefix or 'multiview')
        metric_cfgs = [metric] if isinstance(metric, dict) else list(metric)
        if not metric_cfgs or not all(isinstance(c, dict) and 'type' in c
                                      for c in metric_cfgs):
            raise TypeError('metric must be a dict (or a non-empty list of dicts) '
                            f"with a 'type' key, got {metric!r}")
        if isinstance(views, str) or not views:
            raise TypeError(f'views must be a non-empty sequence of view names, got {views!r}')
        if len(set(views)) != len(views):
            raise ValueError(f'views must be unique, got {tuple(views)}')
        self.views = tuple(views)
        self.metric_cfgs = metric_cfgs
        self.inner_metrics: Dict[str, List[BaseMetric]] = OrderedDict(
            (view, [METRICS.build(copy.deepcopy(cfg)) for cfg in metric_cfgs])
            for view in self.views)
        self._num_samples = 0
        self._view_counts = {view: 0 for view in self.views}

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Meta info of the dataset; setting it propagates a deep copy to
        every inner metric (CocoMetric needs its ``sigmas`` and
        ``num_keypoints``)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        self._dataset_meta = dataset_meta
        for metrics in self.inner_metrics.values():
            for metric in metrics:
                metric.dataset_meta = copy.deepcopy(dataset_meta)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Feed each view's inner metrics with that view's predictions."""
        data_samples = [as_dict(ds) for ds in data_samples]
        self._num_samples += len(data_samples)
        for view, metrics in self.inner_metrics.items():
            key = f'pred_instances_{view}'
            view_samples = []
            for data_sample in data_samples:
                if data_sample.get(key) is None:
                    continue
                view_sample = dict(data_sample)  # shallow copy, inner metrics only read
                view_sample['pred_instances'] = as_dict(data_sample[key])
                _fix_bottomup_category(view_sample)
                view_samples.append(view_sample)
            if not view_samples:
                continue
            self._view_counts[view] += len(view_samples)
            for metric in metrics:
                metric.process(data_batch, view_samples)

    def compute_metrics(self, results: list) -> dict:
        """Unused: :meth:`evaluate` delegates to the inner metrics."""
        raise NotImplementedError('MultiViewPoseMetric delegates to its inner metrics')

    def evaluate(self, size: int) -> dict:
        """Evaluate every complete view and prefix its keys with the view name.

        Args:
            size (int): Length of the whole validation dataset (for the
                inner metrics' ``collect_results``).

        Returns:
            dict: ``{'<view>/<inner key>': value}`` (inner keys already carry
            the inner metric's prefix, e.g. ``coco/AP .5``).
        """
        logger = MMLogger.get_current_instance()
        counts = torch.tensor([self._num_samples] + [self._view_counts[v] for v in self.views],
                              dtype=torch.long)
        all_reduce(counts)  # no-op without distributed training
        total, view_counts = int(counts[0]), counts[1:].tolist()
        results = OrderedDict()
        for view, count in zip(self.views, view_counts):
            metrics = self.inner_metrics[view]
            if count == 0:
                continue
            if count != total:
                logger.warning(f'MultiViewPoseMetric: view {view!r} is present in only {count} of '
                               f'{total} samples; it is not evaluated')
                for metric in metrics:
                    metric.results.clear()
                continue
            for metric in metrics:
                for key, value in metric.evaluate(size).items():
                    name = f'{view}/{key}'
                    if self._outer_prefix:
                        name = f'{self._outer_prefix}/{name}'
                    if name in results:
                        raise ValueError(f'MultiViewPoseMetric: duplicate metric name {name!r}; '
                                         'give the inner metrics distinct prefixes')
                    results[name] = value
        self._num_samples = 0
        self._view_counts = {view: 0 for view in self.views}
        return results
