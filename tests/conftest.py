import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = (ROOT / '..' / 'shared' / 'data').resolve()
TINY = SHARED / 'mmpose-tiny'
PEOPLE_MINI = SHARED / 'people-mini'


def require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f'shared data not present: {path}')
    return path


@pytest.fixture(scope='session')
def tiny_coco():
    return require(TINY / 'coco')


@pytest.fixture(scope='session', autouse=True)
def _cwd_repo_root():
    # configs use data paths relative to the repository root, as the tools do
    old = os.getcwd()
    os.chdir(ROOT)
    yield
    os.chdir(old)


@pytest.fixture(scope='session', autouse=True)
def _mmpose_scope():
    """Build from MMPose's registries as a config with default_scope='mmpose' does."""
    from mmpose.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    import mmrecanon  # noqa: F401
