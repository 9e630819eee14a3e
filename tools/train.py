"""Train a ReCanon (or any MMPose) config with MMEngine's Runner.

    python tools/train.py configs/recanon_blur_coco.py [--work-dir DIR] [--resume [CKPT]] [--amp]
                          [--cfg-options key=value ...] [--launcher pytorch]
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import mmrecanon  # noqa: E402,F401  (compat shims + registries)
from mmrecanon.runtime import DictAction, build_runner, fail  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a mmrecanon model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir if none given')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision (needs a CUDA device)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config settings, e.g. train_cfg.max_epochs=5')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        runner = build_runner(args.config, work_dir=args.work_dir, cfg_options=args.cfg_options,
                              launcher=args.launcher, resume=args.resume, amp=args.amp)
    except (FileNotFoundError, ValueError, KeyError) as e:
        fail(e)
    runner.train()


if __name__ == '__main__':
    main()
