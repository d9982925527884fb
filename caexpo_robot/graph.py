"""The robot's node graph in one place: which nodes run and where their parameters come from.

The launch files and `caexpo-robot sim` both read this, so the robot and the simulation run the same set.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from caexpo_robot.paths import config_path

# Executable name -> node class (module caexpo_robot.nodes.<name>_node).
ROBOT_NODES = ('camera', 'face_detector', 'microphone', 'asr', 'tts', 'interaction')
# The simulator publishes camera frames and audio itself, so it runs everything but the devices.
SIM_NODES = ('face_detector', 'asr', 'tts', 'interaction')
_CLASSES = {'camera': 'CameraNode', 'face_detector': 'FaceDetectorNode', 'microphone': 'MicrophoneNode',
            'asr': 'AsrNode', 'tts': 'TtsNode', 'interaction': 'InteractionNode'}


def params_file() -> Path:
    return config_path('greeter.yaml')


def node_class(name: str):
    module = importlib.import_module(f'caexpo_robot.nodes.{name}_node')
    return getattr(module, _CLASSES[name])


def load_params(path: Path | None = None) -> dict[str, dict]:
    """{node name: {parameter: value}} from a ROS 2 parameter file (`<node>: ros__parameters: ...`)."""
    path = path or params_file()
    data = yaml.safe_load(Path(path).read_text(encoding='utf-8')) or {}
    params = {}
    for node, body in data.items():
        node_name = node.strip('/').split('/')[-1]
        if node_name == '**':
            continue
        params[node_name] = dict((body or {}).get('ros__parameters', {}) or {})
    return params
