"""Overfit the YOLOv8-n pose model P on the 4 COCO images of mmpose-tiny (CPU) and report OKS AP.

Trains with MMEngine's Runner from ``configs/yolov8pose/yolov8pose-n_coco-tiny.py`` (train = val =
the 4 images), evaluates with MMPose's CocoMetric and writes
``<work-dir>/overfit_yolo.json`` with AP@0.5 ('coco/AP .5'), AP, iterations and minutes.

    .venv/bin/python tools/analysis/overfit_yolo.py --iters 20          # quick loss-goes-down check
    .venv/bin/python tools/analysis/overfit_yolo.py --iters 600         # the real overfit

Run from the repository root (data paths in the config are relative to it).
"""
import argparse
import json
import os
import os.path as osp
import time
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmrecanon  # noqa: F401  (compat shims)

REPO = Path(__file__).resolve().parents[2]
DEFAULT_CFG = 'configs/yolov8pose/yolov8pose-n_coco-tiny.py'


class _Recorder(Hook):
    """Keeps the training losses and the last validation metrics."""
    priority = 'VERY_LOW'

    def __init__(self):
        self.losses, self.metrics, self.history = [], {}, []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if outputs is not None and 'loss' in outputs:
            self.losses.append({k: float(v) for k, v in outputs.items()})

    def after_val_epoch(self, runner, metrics=None):
        self.metrics = dict(metrics or {})
        self.history.append(dict(iteration=runner.iter, ap50=self.metrics.get('coco/AP .5'),
                                 ap=self.metrics.get('coco/AP')))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--config', default=DEFAULT_CFG)
    p.add_argument('--iters', type=int, default=600, help='training iterations (batch = 4)')
    p.add_argument('--lr', type=float, default=None, help='override the AdamW learning rate')
    p.add_argument('--work-dir', default='work_dirs/overfit_yolo')
    p.add_argument('--val-interval', type=int, default=None,
                   help='also evaluate every N iterations (default: only at the end)')
    p.add_argument('--threads', type=int, default=1,
                   help='torch CPU threads (1: the 2 cores are shared with other jobs and '
                   'oversubscribed OpenMP threads are slower than one)')
    p.add_argument('--seed', type=int, default=0)
    return p.parse_args()


def main():
    args = parse_args()
    if args.iters < 1:
        raise SystemExit('overfit_yolo: --iters must be >= 1')
    os.chdir(REPO)  # relative data paths
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    cfg.work_dir = args.work_dir
    cfg.randomness = dict(seed=args.seed)
    cfg.train_cfg.max_iters = args.iters
    # evaluate at the end (IterBasedTrainLoop always validates after the last iteration)
    cfg.train_cfg.val_interval = args.val_interval or args.iters
    cfg.default_hooks.checkpoint.interval = args.iters
    warmup = min(30, max(1, args.iters // 10))
    cfg.param_scheduler[0].end = warmup
    cfg.param_scheduler[1].begin = warmup
    cfg.param_scheduler[1].end = args.iters
    if args.lr is not None:
        cfg.optim_wrapper.optimizer.lr = args.lr
    cfg.param_scheduler[1].eta_min = 0.05 * cfg.optim_wrapper.optimizer.lr

    runner = Runner.from_cfg(cfg)
    rec = _Recorder()
    runner.register_hook(rec)
    t0 = time.time()
    runner.train()
    minutes = (time.time() - t0) / 60

    losses = [r['loss'] for r in rec.losses]
    k = max(1, min(5, len(losses) // 4))
    result = dict(
        config=args.config,
        iterations=args.iters,
        batch_size=cfg.train_dataloader.batch_size,
        input_size=list(cfg.codec.input_size),
        lr=cfg.optim_wrapper.optimizer.lr,
        minutes=round(minutes, 2),
        loss_first=sum(losses[:k]) / k if losses else None,
        loss_last=sum(losses[-k:]) / k if losses else None,
        last_losses={key: v for key, v in (rec.losses[-1].items() if rec.losses else [])},
        ap50=rec.metrics.get('coco/AP .5'),
        ap=rec.metrics.get('coco/AP'),
        metrics=rec.metrics,
        ap_history=rec.history,
    )
    out = osp.join(args.work_dir, 'overfit_yolo.json')
    os.makedirs(args.work_dir, exist_ok=True)
    with open(out, 'w') as f:
        json.dump(result, f, indent=2)
    print(f"overfit_yolo: iterations={args.iters} minutes={minutes:.1f} "
          f"loss {result['loss_first']:.3f} -> {result['loss_last']:.3f} "
          f"AP@0.5={result['ap50']} AP={result['ap']} (written to {out})")


if __name__ == '__main__':
    main()
