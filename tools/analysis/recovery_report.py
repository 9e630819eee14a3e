"""The recovery ablation table (results/recovery.md + .json) from finished runs.

    python tools/analysis/recovery_report.py NAME=WORK_DIR [NAME=WORK_DIR ...] --best NAME \
        [--frame [NAME=]results/recovery_frame.json ...] --out results/recovery

Each WORK_DIR holds a training run (its ``*.log`` gives iterations, seconds per iteration, and the
training time the ``TrainTimeBudgetHook`` recorded) and ``test/tables.json`` from ``tools/test.py``
(portrait-level metrics on people-mini val). ``--frame NAME=JSON`` adds the frame-level figures of
``tools/analysis/frame_recovery.py`` to a row (a bare JSON path: to the best row). JSON keys: ``rows/<name>/...`` and
``best/portrait/{psnr_o_r,ssim_o_r,psnr_o_p,psnr_o_A,leak_db}``, ``best/frame/{psnr_o_r,psnr_ceiling}``.
"""
import argparse
import glob
import json
import os.path as osp
import re
import sys

PORTRAIT_KEYS = ('psnr_o_r', 'ssim_o_r', 'psnr_o_p', 'ssim_o_p', 'psnr_o_A', 'leak_db', 'psnr_o_r_wrongkey',
                 'psnr_o_r_nokey')


def run_stats(work_dir: str) -> dict:
    """Iterations, median seconds per iteration and training minutes from the run's MMEngine log."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.log')))
    text = ''.join(open(p, encoding='utf-8', errors='replace').read() for p in logs)
    times = [float(t) for t in re.findall(r'Epoch\(train\).*?\stime: ([0-9.]+)', text)]
    stop = re.findall(r'after epoch (\d+) \((\d+) iterations\)', text)
    iters = re.findall(r'Epoch\(train\)\s+\[(\d+)\]\[(\d+)/(\d+)\]', text)
    n_iter = int(stop[-1][1]) if stop else (
        (int(iters[-1][0]) - 1) * int(iters[-1][2]) + int(iters[-1][1]) if iters else 0)
    times.sort()
    sec = times[len(times) // 2] if times else None
    return dict(iterations=n_iter, s_per_iter=sec, it_per_s=None if not sec else round(1 / sec, 3))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('runs', nargs='+', metavar='NAME=WORK_DIR')
    parser.add_argument('--best', required=True)
    parser.add_argument('--frame', action='append', default=[], metavar='[NAME=]JSON',
                        help='frame_recovery.py JSON of a run (default: of the best run); repeatable')
    parser.add_argument('--out', default='results/recovery')
    args = parser.parse_args(argv)
    result, rows = {}, []
    for item in args.runs:
        name, _, work_dir = item.partition('=')
        tables = osp.join(work_dir, 'test', 'tables.json')
        if not osp.isfile(tables):
            print(f'error: {tables} not found (run tools/test.py with --work-dir {work_dir}/test)', file=sys.stderr)
            return 2
        with open(tables) as f:
            metrics = json.load(f)['metrics']
        row = {k: metrics.get(f'portrait/{k}') for k in PORTRAIT_KEYS}
        row.update(run_stats(work_dir))
        ckpt = sorted(glob.glob(osp.join(work_dir, 'epoch_*.pth')), key=osp.getmtime)
        row['train_minutes'] = None
        if ckpt:
            import torch
            meta = torch.load(ckpt[-1], map_location='cpu', weights_only=False).get('meta', {})
            if 'train_time_s' in meta:
                row['train_minutes'] = round(meta['train_time_s'] / 60, 1)
        rows.append((name, row))
        result.update({f'rows/{name}/{k}': v for k, v in row.items()})
    best = dict(rows)[args.best]
    for k in ('psnr_o_r', 'ssim_o_r', 'psnr_o_p', 'psnr_o_A', 'leak_db'):
        result[f'best/portrait/{k}'] = best[k]
    frames = {}
    for item in args.frame:
        name, _, path = item.rpartition('=')
        with open(path) as f:
            frames[name or args.best] = json.load(f)
    for name, frame in frames.items():
        keys = [k for k in ('psnr_o_r', 'psnr_o_p', 'psnr_o_A', 'psnr_ceiling', 'psnr_o_r_wrongkey',
                            'psnr_o_r_nokey') if k in frame]
        result.update({f'rows/{name}/frame/{k}': frame[k] for k in keys})
        if name == args.best:
            result.update({f'best/frame/{k}': frame[k] for k in keys})
    result['best/name'] = args.best
    with open(args.out + '.json', 'w') as f:
        json.dump(result, f, indent=1, sort_keys=True)

    def fmt(v, d=2):
        return '—' if v is None else f'{v:.{d}f}'

    lines = ['| run | train min | iterations | it/s | PSNR(o,r) | SSIM(o,r) | PSNR(o,p) | PSNR(o,A) | leak (dB) |'
             ' PSNR(o,r) wrong key | PSNR(o,r) no key | frame PSNR(o,r) | frame PSNR(o,A) |', '|' + ' --- |' * 13]
    for name, r in rows:
        fr = frames.get(name, {})
        lines.append(f"| {name} | {fmt(r['train_minutes'], 1)} | {r['iterations']} | {fmt(r['it_per_s'], 3)} | "
                     f"{fmt(r['psnr_o_r'])} | {fmt(r['ssim_o_r'], 4)} | {fmt(r['psnr_o_p'])} | {fmt(r['psnr_o_A'])} | "
                     f"{fmt(r['leak_db'])} | {fmt(r['psnr_o_r_wrongkey'])} | {fmt(r['psnr_o_r_nokey'])} | "
                     f"{fmt(fr.get('psnr_o_r'))} | {fmt(fr.get('psnr_o_A'))} |")
    table = '\n'.join(lines)
    with open(args.out + '_table.md', 'w') as f:
        f.write(table + '\n')
    print(table)
    return 0


if __name__ == '__main__':
    sys.exit(main())
