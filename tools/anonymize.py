"""Thin wrapper: `python tools/anonymize.py ARGS` = `mmrecanon anonymize ARGS` (see its --help)."""
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's mmrecanon

from mmrecanon.cli import main  # noqa: E402

if __name__ == '__main__':
    sys.exit(main(['anonymize'] + sys.argv[1:]))
