"""What in x' costs P: P on the recovered frames with parts of x' − x taken out, and on stand-ins for x'.

    python tools/analysis/recovered_pose.py CONFIG CHECKPOINT [--pose-checkpoint P] [--out results/recovered-pose]
        [--variants as-is no-low-error no-high-error round-trip round-trip-noise] [--sigma 1.5]

One ``tools/test.py`` run per variant (same data, boxes, P and metric: people-mini val, 256-px frames,
every person's 128-px portrait pasted back), where the recovered view x' of each portrait is replaced by:

* ``as-is``: x' itself (the Tab. 1 "r" column);
* ``no-low-error``: G(x) + (x' − G(x')): x' with the low band of x (G = Gaussian, σ = ``--sigma`` portrait
  pixels), so only x''s high-frequency error is left;
* ``no-high-error``: G(x') + (x − G(x)): only x''s low-frequency error is left;
* ``luma-error``: x + ΔY (ΔY = luma(x') − luma(x), BT.601 weights, on every channel): only x''s
  brightness error is left; ``chroma-error``: x' − ΔY: only its colour error (the luma of x);
* ``chroma-lowpass``: x' with its colour (x' minus its luma) Gaussian-smoothed (σ = ``--sigma``): a
  post-filter that needs nothing but x', the candidate fix if the colour error is fine speckle;
* ``round-trip``: x (the portrait round trip alone, a perfect G_Y: the ceiling of the portrait design);
* ``round-trip-noise``: x + white Gaussian noise with the RMS of x' − x (per batch): an error of x''s size
  that is not where P looks.

P is the checkpoint's, or ``--pose-checkpoint``'s (e.g. the frozen "pre", the converter's output). Writes
``OUT.json`` (``<variant>/ap50``, ``/ap``, ``/psnr_o_r``, and ``original/ap50`` of P on the originals) and
``OUT.md``. The replacement acts on the model instance of this process only.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))

VARIANTS = ('as-is', 'no-low-error', 'no-high-error', 'luma-error', 'chroma-error', 'chroma-lowpass',
            'round-trip', 'round-trip-noise')
LUMA_BGR = (0.114, 0.587, 0.299)  # BT.601 luma weights in the frames' channel order (BGR, as MMPose loads)


def replacement(variant: str, sigma: float):
    """x, x' (portraits in [-1, 1]) → what the variant puts in x''s place."""
    import torch

    from mmrecanon.models.utils.desensitize import gaussian_blur

    def low(t):
        return gaussian_blur(t, sigma)

    def luma(t):  # (N, 1, H, W), BT.601; the weights sum to 1
        w = torch.tensor(LUMA_BGR, dtype=t.dtype, device=t.device).view(1, 3, 1, 1)
        return (t * w).sum(1, keepdim=True)

    def luma_error(x, r):  # what x' adds to the brightness
        return luma(r - x)

    if variant == 'as-is':
        return lambda x, r: r
    if variant == 'no-low-error':
        return lambda x, r: low(x) + r - low(r)
    if variant == 'no-high-error':
        return lambda x, r: low(r) + x - low(x)
    if variant == 'luma-error':
        return lambda x, r: x + luma_error(x, r)
    if variant == 'chroma-error':
        return lambda x, r: r - luma_error(x, r)
    if variant == 'chroma-lowpass':  # a post-filter of x' alone (no x): its colour, Gaussian-smoothed
        def chroma_lowpass(x, r):
            chroma = r - luma(r)
            return r - chroma + low(chroma)
        return chroma_lowpass
    if variant == 'round-trip':
        return lambda x, r: x
    if variant == 'round-trip-noise':
        gen = torch.Generator().manual_seed(0)

        def noisy(x, r):
            rms = (r - x).pow(2).mean().sqrt()
            return x + rms * torch.randn(x.shape, generator=gen).to(x)
        return noisy
    raise ValueError(f'unknown variant {variant!r}; valid: {", ".join(VARIANTS)}')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--pose-checkpoint', help="P's weights from their own file (tools/test.py's option)")
    parser.add_argument('--variants', nargs='+', choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument('--sigma', type=float, default=1.5, help='low/high split, portrait pixels (default 1.5)')
    parser.add_argument('--out', default=osp.join(ROOT, 'results', 'recovered-pose'))
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'recovered_pose'))
    args = parser.parse_args(argv)

    import test as test_tool
    test_tool.import_mmrecanon()
    from mmengine.model import is_model_wrapper

    from mmrecanon.runtime import build_runner, fail
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            fail(f'file not found: {path}')
    meta, state_dict = test_tool.read_checkpoint(args.checkpoint)
    checkpoint = args.checkpoint
    if args.pose_checkpoint:
        checkpoint, meta, state_dict = test_tool.with_pose(args, state_dict, meta)
    runner = build_runner(args.config, work_dir=args.work_dir, load_from=checkpoint,
                          cfg_options={'test_dataloader.num_workers': 1})
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    test_tool.check_checkpoint(model, state_dict, meta, args.checkpoint, args.config)
    test_tool.load_zeroshot(model, state_dict)
    if not model.has_generators:
        fail(f'{args.config}: the model has no G_Y (a Conventional model), so there is no x\' to take apart')

    translate = model.translate
    out = dict(config=args.config, checkpoint=args.checkpoint, pose_checkpoint=args.pose_checkpoint,
               sigma=args.sigma, load=os.getloadavg()[0])
    rows = []
    for variant in args.variants:
        swap = replacement(variant, args.sigma)

        def swapped(x, *a, **k):
            trans = translate(x, *a, **k)
            trans['recovered'] = swap(x, trans['recovered']).clamp(-1, 1)
            return trans
        model.translate = swapped
        t0 = time.time()
        metrics = runner.test() or {}
        model.translate = translate
        row = {'ap50': 100 * metrics['recovered/coco/AP .5'], 'ap': 100 * metrics['recovered/coco/AP'],
               'psnr_o_r': metrics['portrait/psnr_o_r'], 'seconds': round(time.time() - t0, 1)}
        out['original/ap50'] = 100 * metrics['original/coco/AP .5']
        out.update({f'{variant}/{k}': v for k, v in row.items()})
        rows.append((variant, row))
        print(f"{variant}: mAP@0.5 on x' {row['ap50']:.1f}  PSNR(o,r) {row['psnr_o_r']:.2f} dB", flush=True)

    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out + '.json', 'w') as f:
        json.dump(out, f, indent=1)
    lines = [f"P on the originals: mAP@0.5 {out['original/ap50']:.1f}", '',
             "| x' replaced by | PSNR(o,r) dB | mAP@0.5 | AP |", '|---|---:|---:|---:|']
    lines += [f"| {v} | {r['psnr_o_r']:.2f} | {r['ap50']:.1f} | {r['ap']:.1f} |" for v, r in rows]
    cmd = 'python tools/analysis/recovered_pose.py ' + ' '.join(argv if argv is not None else sys.argv[1:])
    lines += ['', f'`{cmd}` (load {out["load"]:.1f} at the start)']
    with open(args.out + '.md', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print(f'{args.out}.json, {args.out}.md')
    return 0


if __name__ == '__main__':
    sys.exit(main())
