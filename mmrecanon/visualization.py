"""Side-by-side pictures: original | A(x) | privacy-enhanced | recovered, each with P's keypoints."""
import os.path as osp
from typing import Dict, Optional, Sequence

import cv2
import mmcv
import numpy as np
from mmengine.hooks import Hook
from mmengine.structures import InstanceData
from mmpose.registry import HOOKS
from mmpose.structures import PoseDataSample
from mmpose.visualization import PoseLocalVisualizer

from .models.utils.input_space import image_to_input_space

__all__ = ["ReCanonVisualizationHook", "draw_panel", "sample_panel"]

VIEW_TITLES = dict(original='original', conventional='A(x)', enhanced="privacy-enhanced G_X(x)",
                   recovered="recovered G_Y(y')")


def _visualizer(dataset_meta: Optional[dict], visualizer=None):
    """The runner's visualizer inside training/testing, else one PoseLocalVisualizer for the CLI."""
    name = 'mmrecanon_panel'
    vis = visualizer or (PoseLocalVisualizer.get_instance(name) if PoseLocalVisualizer.check_instance_created(name)
                         else PoseLocalVisualizer.get_instance(name, radius=2, line_width=1))
    if dataset_meta:
        vis.set_dataset_meta(dataset_meta)
    return vis


def draw_panel(frames: Dict[str, np.ndarray], poses: Dict[str, InstanceData], dataset_meta: Optional[dict],
               kpt_thr: float = 0.3, views: Sequence[str] = tuple(VIEW_TITLES), visualizer=None) -> np.ndarray:
    """Concatenate the available views horizontally (BGR uint8), keypoints drawn on each.

    ``poses[view]`` must already be in the frames' pixel space.
    """
    vis = _visualizer(dataset_meta, visualizer)
    tiles = []
    for view in views:
        if view not in frames:
            continue
        img = np.ascontiguousarray(frames[view][..., ::-1])  # the visualizer draws RGB
        if view in poses and len(poses[view]) and dataset_meta:
            sample = PoseDataSample(pred_instances=poses[view])
            vis.add_datasample(view, img, sample, draw_gt=False, draw_bbox=False, kpt_thr=kpt_thr, show=False)
            img = vis.get_image()
        tile = np.ascontiguousarray(img[..., ::-1])
        cv2.putText(tile, VIEW_TITLES.get(view, view), (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(tile)
    return np.concatenate(tiles, axis=1)


def sample_panel(data_sample, dataset_meta: Optional[dict], visualizer=None) -> np.ndarray:
    """Panel for one ``ReCanon.predict`` output (frames and P's predictions in input space)."""
    frames, poses = {}, {}
    for view in VIEW_TITLES:
        if f'{view}_img' not in data_sample:
            continue
        frames[view] = data_sample.get(f'{view}_img')
        pred = data_sample.get(f'pred_instances_{view}')
        if pred is not None and len(pred):
            inst = InstanceData(keypoints=image_to_input_space(np.asarray(pred.keypoints), data_sample.metainfo),
                                keypoint_scores=np.asarray(pred.keypoint_scores))
            poses[view] = inst
    return draw_panel(frames, poses, dataset_meta, visualizer=visualizer)


@HOOKS.register_module()
class ReCanonVisualizationHook(Hook):
    """Save panels of the first ``num_samples`` validation/test frames to ``work_dir/vis/<stage>/``."""

    priority = 'LOW'

    def __init__(self, num_samples: int = 4, out_dir: Optional[str] = None) -> None:
        self.num_samples = num_samples
        self.out_dir = out_dir
        self._count = 0

    def _reset(self, runner) -> None:
        self._count = 0

    before_val_epoch = _reset
    before_test_epoch = _reset

    def _save(self, runner, outputs, stage: str) -> None:
        for ds in outputs:
            if self._count >= self.num_samples or 'original_img' not in ds:
                return
            out_dir = self.out_dir or osp.join(runner.work_dir, 'vis', stage)
            name = osp.splitext(osp.basename(ds.metainfo.get('img_path', f'{self._count}.png')))[0]
            evaluator = runner.test_evaluator if stage == 'test' else runner.val_evaluator
            panel = sample_panel(ds, evaluator.dataset_meta, runner.visualizer)
            mmcv.imwrite(panel, osp.join(out_dir, f'{name}.png'))
            self._count += 1

    def after_val_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._save(runner, outputs or [], f'iter_{runner.iter}')

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self._save(runner, outputs or [], 'test')
