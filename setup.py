"""ament_python package for the CAEXPO greeter robot (also installable with pip)."""
import os
from glob import glob

from setuptools import find_packages, setup

PACKAGE = 'caexpo_robot'

# The ROS node executables (ros2 run caexpo_robot <name>) and the command-line tools.
NODES = ['camera', 'face_detector', 'tts', 'interaction', 'microphone', 'asr', 'screen', 'telepresence']
CONSOLE_SCRIPTS = [f'{n} = {PACKAGE}.nodes.{n}_node:main' for n in NODES] + [
    f'caexpo-robot = {PACKAGE}.cli:main',
]


def tree(folder):
    """data_files entries that keep the folder structure under share/<package>/."""
    entries = {}
    for path in glob(os.path.join(folder, '**', '*'), recursive=True):
        if os.path.isfile(path):
            entries.setdefault(os.path.join('share', PACKAGE, os.path.dirname(path)), []).append(path)
    return sorted(entries.items())


setup(
    name=PACKAGE,
    version='0.1.0',
    # Only the robot: the reference assistant (caexpo_assistant/) is its own project with its own pyproject.toml.
    packages=find_packages(include=[PACKAGE, f'{PACKAGE}.*']),
    data_files=[
        ('share/ament_index/resource_index/packages', [f'resource/{PACKAGE}']),
        (f'share/{PACKAGE}', ['package.xml']),
    ] + tree('launch') + tree('config'),
    install_requires=['setuptools'],
    zip_safe=True,
    maintainer='caexpo_robot maintainers',
    maintainer_email='robots@caexpo.invalid',
    description='CAEXPO greeter robot: perception, speech, dialogue and simulation.',
    license='Apache-2.0',
    tests_require=['pytest'],
    entry_points={'console_scripts': CONSOLE_SCRIPTS},
)
