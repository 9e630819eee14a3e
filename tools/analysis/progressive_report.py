"""With vs without the progressive supervision upgrade, at equal CPU minutes (issue #15, part 2).

    python tools/analysis/progressive_report.py --on work_dirs/prog_on/test --off work_dirs/prog_off/test \
        --attack-on work_dirs/prog_on/attack.json --attack-off work_dirs/prog_off/attack.json --out results/progressive

``--on``/``--off``: ``tools/test.py`` work dirs (or their ``tables.json``) of the two runs;
``--attack-*``: ``tools/analysis/privacy_attack.py`` JSON files of the same checkpoints. Writes ``OUT.json``
(``rows.on``/``rows.off``: P's mAP@0.5 and AP on y' and x', PSNR/SSIM(o,p) and (o,r), the visible leak, dlib
face re-identification on y' and A(x); ``delta``: on − off) and prints a Markdown table.
"""
import argparse
import json
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

FIELDS = (  # (row key, metric name in tables.json, label)
    ('p_ap50', 'enhanced/coco/AP .5', "P on y' mAP@0.5"),
    ('p_ap', 'enhanced/coco/AP', "P on y' AP"),
    ('r_ap50', 'recovered/coco/AP .5', "P on x' mAP@0.5"),
    ('r_ap', 'recovered/coco/AP', "P on x' AP"),
    ('psnr_o_p', 'portrait/psnr_o_p', 'PSNR(o,p)'),
    ('ssim_o_p', 'portrait/ssim_o_p', 'SSIM(o,p)'),
    ('psnr_o_A', 'portrait/psnr_o_A', 'PSNR(o,A)'),
    ('psnr_o_r', 'portrait/psnr_o_r', 'PSNR(o,r)'),
    ('ssim_o_r', 'portrait/ssim_o_r', 'SSIM(o,r)'),
    ('leak_db', 'portrait/leak_db', 'leak (dB)'),
)


def row(tables: dict, attack: dict) -> dict:
    metrics = tables['metrics']
    out = {key: metrics.get(name) for key, name, _ in FIELDS}
    faces = attack.get('faces', {})
    out['reid_y'] = faces.get("privacy-enhanced y'", {}).get('reid_rate')
    out['reid_A'] = faces.get('conventional A(x)', {}).get('reid_rate')
    out['faces'] = faces.get('original', {}).get('faces')
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='progressive supervision: with vs without, equal CPU minutes')
    for name in ('on', 'off'):
        parser.add_argument(f'--{name}', required=True, help=f'tools/test.py work dir of the run "{name}"')
        parser.add_argument(f'--attack-{name}', required=True, help='privacy_attack.py JSON of that checkpoint')
    parser.add_argument('--out', required=True, help='output prefix (OUT.json)')
    args = parser.parse_args(argv)
    sys.path.insert(0, REPO_ROOT)
    from mmrecanon.evaluation.tables import load_result
    try:
        rows = {name: row(load_result(getattr(args, name)), load_result(getattr(args, f'attack_{name}')))
                for name in ('on', 'off')}
    except (OSError, ValueError, KeyError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    delta = {k: (None if rows['on'][k] is None or rows['off'][k] is None else rows['on'][k] - rows['off'][k])
             for k in rows['on'] if k != 'faces'}
    labels = [(k, label) for k, _, label in FIELDS] + [('reid_y', "dlib re-ID on y'"), ('reid_A', 'dlib re-ID on A(x)')]
    lines = ['| | with the upgrade | without | with − without |', '|---|---:|---:|---:|']
    fmt = lambda v: '—' if v is None else f'{v:.4f}'  # noqa: E731
    for key, label in labels:
        lines.append(f'| {label} | {fmt(rows["on"][key])} | {fmt(rows["off"][key])} | {fmt(delta[key])} |')
    print('\n'.join(lines))
    with open(args.out + '.json', 'w', encoding='utf-8') as f:
        json.dump(dict(rows=rows, delta=delta, sources=dict(on=args.on, off=args.off, attack_on=args.attack_on,
                                                             attack_off=args.attack_off)), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
