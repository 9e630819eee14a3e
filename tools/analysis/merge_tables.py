"""Merge the Tab. 1/2 rows of several ``tools/test.py`` runs (e.g. Conventional + Ours) into one table.

    python tools/analysis/merge_tables.py WORK_DIR [WORK_DIR ...] --out results/people-mini-table.md

Each WORK_DIR is a ``tools/test.py`` work dir (or its ``tables.json``). Prints the Markdown, writes it to
``--out`` and the merged tables as JSON next to it.
"""
import argparse
import json
import os.path as osp
import sys

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='Merge Tab. 1/2 rows of several test runs')
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    parser.add_argument('--out', required=True, help='Markdown output; JSON next to it')
    args = parser.parse_args(argv)
    sys.path.insert(0, REPO_ROOT)
    from mmrecanon.evaluation.tables import merge_result_files, render_markdown
    paths = [osp.join(p, 'tables.json') if osp.isdir(p) else p for p in args.work_dirs]
    try:
        tables = merge_result_files(paths)
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    markdown = render_markdown(tables)
    print(markdown)
    with open(args.out, 'w', encoding='utf-8') as f:
        f.write(markdown)
    with open(osp.splitext(args.out)[0] + '.json', 'w', encoding='utf-8') as f:
        json.dump(dict(sources=paths, tables=tables), f, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
