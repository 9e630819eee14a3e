"""Collect the ``tables.json`` of several test runs into the Table 3 r-sweep.

    python tools/analysis/ablation_table.py WORK_DIR [WORK_DIR ...] [--out results/ablation.md]

Each WORK_DIR is the work dir of one ``tools/test.py`` run (or a path to its
``tables.json``), e.g. the models trained with blur r in {2, 4, 8, 12} and
pixelate r in {4, 8, 12, 16}. Writes a Markdown table with one row per
(desensitizer, r, method) to ``--out`` and the same data as JSON next to it
(``.json`` suffix).
"""
import argparse
import json
import os.path as osp
import sys
from pathlib import Path

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Build the r-sweep table (Tab. 3)')
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                        help='work dirs of tools/test.py runs (or tables.json files)')
    parser.add_argument('--out', default='results/ablation.md',
                        help='Markdown output; the JSON goes next to it (default: %(default)s)')
    return parser.parse_args(argv)


def fail(message: str) -> None:
    print(f'error: {message}', file=sys.stderr)
    sys.exit(2)


def main(argv=None):
    args = parse_args(argv)
    paths = []
    for work_dir in args.work_dirs:
        path = Path(work_dir)
        path = path if path.is_file() else path / 'tables.json'
        if not path.is_file():
            fail(f'no tables.json in {work_dir} (run tools/test.py with --work-dir first)')
        paths.append(path)

    if REPO_ROOT not in sys.path:
        sys.path.insert(0, REPO_ROOT)
    # only the table helpers are needed: import the module without the metrics (and mmpose)
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'mmrecanon_tables', osp.join(REPO_ROOT, 'mmrecanon', 'evaluation', 'tables.py'))
    tables_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables_mod)

    results = []
    for path in paths:
        try:
            with open(path, encoding='utf-8') as f:
                data = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            fail(f'cannot read {path}: {e}')
        if not isinstance(data, dict) or 'main' not in data.get('tables', data):
            fail(f'{path} holds no mmrecanon tables')
        data.setdefault('work_dir', str(path.parent))
        results.append(data)
    datasets = {r.get('tables', r)['dataset'] for r in results}
    if len(datasets) != 1:
        fail(f'the runs are on different datasets: {sorted(datasets)}')

    table = tables_mod.build_ablation_table(results)
    markdown = tables_mod.render_ablation_markdown(table)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown, encoding='utf-8')
    out.with_suffix('.json').write_text(
        json.dumps(table, indent=2, ensure_ascii=False), encoding='utf-8')
    print(markdown)
    print(f'written: {out} and {out.with_suffix(".json")}')
    return table


if __name__ == '__main__':
    main()
