"""Tab. 1/2 of the paper on one data set, with the targets of issue #13 as numbers.

    python tools/analysis/paper_report.py --out results/people-mini \
        --run blur pre=work_dirs/pre_blur/test conventional=work_dirs/conv_pre_blur/test ours=work_dirs/ours_blur/test \
        --run pixel pre=... conventional=... ours=...

Each ``--run KIND NAME=DIR ...`` names the ``tools/test.py`` work dirs (or their ``tables.json``) of one
desensitizer: ``pre`` (the pretrained P, frozen, tested through the Conventional config: P on the originals
and zero-shot on A(x)), ``conventional`` ("pre" fine-tuned on A(x)) and ``ours`` (the joint system; its
config's zero-shot P is "pre", frozen, on y'). ``--keep OLD.json`` starts from an earlier report: its kinds
that no ``--run`` names stay as they were (metrics, sources, summary, table rows, and its other top-level
keys such as ``machine``), so one desensitizer can be re-measured without re-running the other. Writes
``OUT.json`` (``metrics.<kind>_<name>``, the merged tables, ``summary/<kind>/...`` in mAP@0.5 points or dB) and
``OUT_tables.md`` (the tables), and prints both.

Summary keys (issue #13), per kind:
* ``ours_p_minus_conv_p_ap50``: Ours P on y' − Conventional P on A(x) (target ≥ +5);
* ``ours_r_minus_pre_o_ap50``: Ours P on x' − "pre" on the originals (target ≥ −1);
* ``zeroshot_p_over_pre_o_ap50``: "pre", frozen, on Ours' y' ÷ "pre" on the originals (target ≤ ⅓);
* ``psnr_o_r``, ``ssim_o_r``, ``psnr_o_p``, ``psnr_o_A``, ``leak_db`` of Ours' portraits.
"""
import argparse
import json
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
ROLES = ('pre', 'conventional', 'ours')
AP50 = 'coco/AP .5'


def summarize(runs: dict) -> dict:
    """summary/* values of one desensitizer from the metrics of its pre/conventional/ours test runs."""
    def metric(role, key):
        value = runs.get(role, {}).get('metrics', {}).get(key)
        return None if value is None else float(value)

    def points(v):  # a fraction as mAP@0.5 points
        return None if v is None else round(100.0 * v, 2)

    def diff(a, b):
        return None if a is None or b is None else points(a - b)

    pre_o = metric('pre', f'original/{AP50}')
    zeroshot = metric('ours', f'zeroshot/{AP50}')
    out = {
        'ours_p_minus_conv_p_ap50': diff(metric('ours', f'enhanced/{AP50}'),
                                         metric('conventional', f'conventional/{AP50}')),
        'ours_r_minus_pre_o_ap50': diff(metric('ours', f'recovered/{AP50}'), pre_o),
        'zeroshot_p_over_pre_o_ap50': None if zeroshot is None or not pre_o else round(zeroshot / pre_o, 4),
        'pre_o_ap50': points(pre_o),
        'pre_zeroshot_A_ap50': points(metric('pre', f'conventional/{AP50}')),
        'conv_p_ap50': points(metric('conventional', f'conventional/{AP50}')),
        'ours_p_ap50': points(metric('ours', f'enhanced/{AP50}')),
        'ours_r_ap50': points(metric('ours', f'recovered/{AP50}')),
        'zeroshot_p_ap50': points(zeroshot),
    }
    for key in ('psnr_o_r', 'ssim_o_r', 'psnr_o_p', 'psnr_o_A', 'leak_db'):
        value = metric('ours', f'portrait/{key}')
        out[key] = None if value is None else round(value, 4)
    return out


def kept_report(path: str, replaced: set):
    """An earlier report without the kinds in ``replaced``: (its result dict, its tables dict)."""
    from mmrecanon.evaluation.tables import load_result
    old = load_result(path)
    prefixes = tuple(f'{kind}_' for kind in replaced)
    result = {k: v for k, v in old.items() if k not in ('metrics', 'sources', 'summary', 'tables')}
    result['metrics'] = {k: v for k, v in old['metrics'].items() if not k.startswith(prefixes)}
    result['sources'] = {k: v for k, v in old.get('sources', {}).items() if not k.startswith(prefixes)}
    result['summary'] = {k: v for k, v in old['summary'].items() if k.split('/')[1] not in replaced}
    return result, old['tables']


def without_desensitizers(tables: dict, labels: set) -> dict:
    """``tables`` without the rows of the desensitizers in ``labels`` (e.g. 'blur r=8')."""
    out = dict(tables)
    for part in ('main', 'coco_full'):
        out[part] = dict(tables[part], rows=[r for r in tables[part]['rows'] if r['desensitizer'] not in labels])
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="The paper's Tab. 1/2 with the targets as numbers")
    parser.add_argument('--run', nargs='+', action='append', required=True, metavar='KIND NAME=DIR',
                        help='a desensitizer kind (blur, pixel) and its pre=/conventional=/ours= test dirs')
    parser.add_argument('--out', required=True, help='output prefix (OUT.json, OUT_tables.md)')
    parser.add_argument('--keep', metavar='OLD.json',
                        help="an earlier report whose kinds that no --run names are kept as they are")
    args = parser.parse_args(argv)
    sys.path.insert(0, REPO_ROOT)
    from mmrecanon.evaluation.tables import load_result, merge_tables, render_markdown

    result = dict(metrics={}, sources={}, summary={})
    table_inputs, kept_tables = [], None
    if args.keep:
        try:
            result, kept_tables = kept_report(args.keep, {spec[0] for spec in args.run})
        except (OSError, ValueError, KeyError) as e:
            print(f'error: --keep {args.keep}: {e}', file=sys.stderr)
            return 2
    for spec in args.run:
        kind, pairs = spec[0], spec[1:]
        runs = {}
        paths = {}
        for pair in pairs:
            name, sep, path = pair.partition('=')
            if not sep or name not in ROLES:
                print(f'error: --run {kind}: expected NAME=DIR with NAME in {ROLES}, got {pair!r}', file=sys.stderr)
                return 2
            try:
                runs[name], paths[name] = load_result(path), path
            except (OSError, ValueError) as e:
                print(f'error: --run {kind} {name}: {e}', file=sys.stderr)
                return 2
        for name, data in runs.items():
            result['metrics'][f'{kind}_{name}'] = data['metrics']
            result['sources'][f'{kind}_{name}'] = dict(tables=paths[name], config=data.get('config_name'),
                                                       checkpoint=data.get('checkpoint'),
                                                       pose_checkpoint=data.get('pose_checkpoint'))
            if name != 'pre':  # "pre" is a column (P on o, zero-shot), not a row of the paper's tables
                table_inputs.append(data['tables'])
        for key, value in summarize(runs).items():
            result['summary'][f'summary/{kind}/{key}'] = value
    if kept_tables is not None:  # the kept kinds' rows first; every desensitizer re-measured loses its old rows
        labels = {r['desensitizer'] for t in table_inputs for part in ('main', 'coco_full') for r in t[part]['rows']}
        table_inputs.insert(0, without_desensitizers(kept_tables, labels))
    result['tables'] = merge_tables(table_inputs)
    markdown = render_markdown(result['tables'])
    lines = [markdown, '', '| summary | value |', '|---|---:|']
    lines += [f'| `{k}` | {"—" if v is None else v} |' for k, v in result['summary'].items()]
    text = '\n'.join(lines) + '\n'
    print(text)
    with open(args.out + '_tables.md', 'w', encoding='utf-8') as f:
        f.write(text)
    with open(args.out + '.json', 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
