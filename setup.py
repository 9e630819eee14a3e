"""mmrecanon: reversible privacy-preserving pose estimation, as an MMPose plugin.

torch, mmcv and the OpenMMLab packages are deliberately *not* listed in install_requires:
pip would fetch a CUDA torch and try to build mmcv without ops.  `bash tools/setup_env.sh`
installs the whole stack; `pip install -e .` then only installs this package.
"""
from setuptools import find_packages, setup


def version():
    ns = {}
    with open('mmrecanon/version.py') as f:
        exec(f.read(), ns)
    return ns['__version__']


setup(
    name='mmrecanon',
    version=version(),
    description='Reversible privacy-preserving human pose estimation (MMPose plugin)',
    long_description=open('README.md').read() if __import__('os').path.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmrecanon', 'mmrecanon.*']),
    include_package_data=True,
    package_data={'mmrecanon': ['demo_assets/*', 'demo_assets/**/*']},
    python_requires='>=3.9',
    install_requires=[],
    entry_points={'console_scripts': ['mmrecanon=mmrecanon.cli:main']},
    license='Apache-2.0',
)
