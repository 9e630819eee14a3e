"""Summarise how every logged loss moved during a training run (MMEngine's vis_data/scalars.json).

    python tools/analysis/loss_trend.py WORK_DIR [--window 3] [--out results/x.md]

Prints, per loss, the mean of the first and last ``--window`` logged values and the relative change;
writes Markdown (``--out``) and JSON next to it.
"""
import argparse
import glob
import json
import os.path as osp
import sys


def load_rows(work_dir: str) -> list:
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}')
    rows = []
    for f in files:  # several timestamps when the run was resumed
        with open(f) as fh:
            rows += [json.loads(line) for line in fh if line.strip()]
    return sorted((r for r in rows if 'loss' in r), key=lambda r: r.get('step', r.get('iter', 0)))


def trend(rows: list, window: int) -> dict:
    keys = sorted({k for r in rows for k in r if k.startswith('loss')})
    out = {}
    for k in keys:
        vals = [r[k] for r in rows if k in r]
        if len(vals) < 2:
            continue
        first = sum(vals[:window]) / len(vals[:window])
        last = sum(vals[-window:]) / len(vals[-window:])
        out[k] = dict(first=first, last=last, change=(last - first) / abs(first) if first else 0.0, n=len(vals))
    return out


def render(summary: dict, work_dir: str, window: int, steps: tuple) -> str:
    lines = [f'Losses of `{work_dir}` (logged steps {steps[0]}–{steps[1]}; mean of the first / last '
             f'{window} logged values):', '', '| loss | first | last | change |', '|---|---|---|---|']
    for k, v in summary.items():
        lines.append(f"| {k} | {v['first']:.4f} | {v['last']:.4f} | {100 * v['change']:+.1f} % |")
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work_dir')
    parser.add_argument('--window', type=int, default=3)
    parser.add_argument('--out', help='Markdown file to write (JSON beside it)')
    args = parser.parse_args(argv)
    try:
        rows = load_rows(args.work_dir)
    except FileNotFoundError as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    summary = trend(rows, args.window)
    steps = (rows[0].get('step', rows[0].get('iter')), rows[-1].get('step', rows[-1].get('iter')))
    md = render(summary, args.work_dir, args.window, steps)
    print(md)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(md)
        with open(osp.splitext(args.out)[0] + '.json', 'w') as f:
            json.dump(dict(work_dir=args.work_dir, steps=steps, window=args.window, losses=summary), f, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
