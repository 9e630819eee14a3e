"""Shrink a ReCanon training checkpoint into the demo asset the README's main job loads.

    python tools/make_demo_checkpoint.py CKPT [--out mmrecanon/demo_assets/recanon-ours-band_blur_people-mini.pth]
        [--with-pose]

Keeps G_X, G_Y, the pose band B (if the model has one) and A (the discriminators and optimizer states are
only needed to train), stored as float16 to stay small; MMEngine's loader copies them back into the float32
model. P is left out by default: a P fine-tuned from the COCO-pretrained YOLOv8 weights is AGPL-3.0, and the
project's code and assets are Apache-2.0 (the demo builds P from the converter's output instead).
``--with-pose`` keeps P: only for a P trained from scratch, or for an asset that is then distributed under
AGPL-3.0.
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402

import mmrecanon  # noqa: E402,F401
from mmrecanon.runtime import fail  # noqa: E402

from mmrecanon.io.checkpoint import DEMO_KEEP as KEEP  # noqa: E402
from mmrecanon.io.checkpoint import ENHANCER, POSE  # noqa: E402
DEFAULT_OUT = 'mmrecanon/demo_assets/recanon-ours-band_blur_people-mini.pth'


def slim(checkpoint: dict, with_pose: bool = False) -> dict:
    state = checkpoint.get('state_dict', checkpoint)
    keep = KEEP + ((POSE, ) if with_pose else ())
    kept = {k: (v.half() if v.is_floating_point() else v) for k, v in state.items() if k.startswith(keep)}
    if not any(k.startswith(ENHANCER) for k in kept):
        raise ValueError('checkpoint has no enhancer (G_X) weights: is it a ReCanon checkpoint?')
    meta = {k: v for k, v in checkpoint.get('meta', {}).items() if k in ('epoch', 'iter', 'seed', 'cfg')}
    return dict(state_dict=kept, meta=dict(meta, mmrecanon_demo_asset=True))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('checkpoint')
    parser.add_argument('--out', default=DEFAULT_OUT)
    parser.add_argument('--with-pose', action='store_true', help='keep P too (see above for its licence)')
    args = parser.parse_args(argv)
    if not osp.isfile(args.checkpoint):
        fail(f'checkpoint not found: {args.checkpoint}')
    if osp.abspath(args.out) == osp.abspath(args.checkpoint):
        fail('--out must differ from the input checkpoint')
    try:
        out = slim(torch.load(args.checkpoint, map_location='cpu', weights_only=False), args.with_pose)
    except (ValueError, RuntimeError, AttributeError) as e:
        fail(e)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save(out, args.out)
    n = sum(v.numel() for v in out['state_dict'].values())
    print(f'{args.out}: {n / 1e6:.2f} M values, {osp.getsize(args.out) / 2**20:.1f} MiB')


if __name__ == '__main__':
    main()
