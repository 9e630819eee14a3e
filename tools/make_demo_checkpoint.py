"""Shrink a ReCanon training checkpoint into the demo asset the README's main job loads.

    python tools/make_demo_checkpoint.py CKPT [--out mmrecanon/demo_assets/recanon_blur_people-mini.pth]

Keeps G_X, G_Y, A and P (the discriminators and optimizer states are only needed to train), stored as
float16 to stay small; MMEngine's loader copies them back into the float32 model.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402

import mmrecanon  # noqa: E402,F401
from mmrecanon.runtime import fail  # noqa: E402

KEEP = ('enhancer.', 'recoverer.', 'pose_estimator.', 'desensitizer.')
DEFAULT_OUT = 'mmrecanon/demo_assets/recanon_blur_people-mini.pth'


def slim(checkpoint: dict) -> dict:
    state = checkpoint.get('state_dict', checkpoint)
    kept = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items() if k.startswith(KEEP)}
    if not any(k.startswith('enhancer.') for k in kept):
        raise ValueError('checkpoint has no enhancer (G_X) weights: is it a ReCanon checkpoint?')
    meta = {k: v for k, v in checkpoint.get('meta', {}).items() if k in ('epoch', 'iter', 'seed', 'cfg')}
    return dict(state_dict=kept, meta=dict(meta, mmrecanon_demo_asset=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint')
    parser.add_argument('--out', default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not osp.isfile(args.checkpoint):
        fail(f'checkpoint not found: {args.checkpoint}')
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        fail('--out must differ from the input checkpoint')
    try:
        out = slim(torch.load(args.checkpoint, map_location='cpu'))
    except (ValueError, RuntimeError, AttributeError) as e:
        fail(e)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(out, args.out)
    n = sum(v.numel() for v in out['state_dict'].values())
    print(f'{args.out}: {n / 1e6:.2f} M values, {osp.getsize(args.out) / 2**20:.1f} MiB')


if __name__ == '__main__':
    main()
