"""The robot's node graph in one place: which nodes run and where their parameters come from.

The launch files and `caexpo-robot sim` both read this, so the robot and the simulation run the same set.
Launch files import this module: it imports neither rclpy nor the nodes until `load_params` needs them.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from caexpo_robot.paths import config_path

# Executable name -> node class (module caexpo_robot.nodes.<name>_node).
ROBOT_NODES = ('camera', 'face_detector', 'microphone', 'asr', 'tts', 'interaction', 'screen', 'telepresence')
# The simulator publishes camera frames and audio itself, so it runs everything but the devices.
SIM_NODES = ('face_detector', 'asr', 'tts', 'interaction', 'screen')
_CLASSES = {'camera': 'CameraNode', 'face_detector': 'FaceDetectorNode', 'microphone': 'MicrophoneNode',
            'asr': 'AsrNode', 'tts': 'TtsNode', 'interaction': 'InteractionNode', 'screen': 'ScreenNode',
            'telepresence': 'TelepresenceNode'}
# Parameters every ROS 2 node declares by itself: a parameter file may set them for any node.
ROS_BUILTIN_PARAMS: dict[str, Any] = {'use_sim_time': False}
WILDCARD = '**'     # a parameter-file section that applies to every node


def params_file() -> Path:
    return config_path('greeter.yaml')


def node_class(name: str):
    module = importlib.import_module(f'caexpo_robot.nodes.{name}_node')
    return getattr(module, _CLASSES[name])


def node_name(section_key: str) -> str:
    """`/entrance_a/camera` -> `camera`: a parameter file may name a node with its namespace."""
    return section_key.strip('/').split('/')[-1]


def load_params(path: Path | None = None) -> dict[str, dict]:
    """{node name: {parameter: value}} from a ROS 2 parameter file (`<node>: ros__parameters: ...`).

    Validated against the nodes' declared PARAMS (config_files.ConfigError naming the file, node and key):
    an unknown node or parameter is refused, and a value must have its default's ROS type (ROS refuses
    an integer for a double parameter at start-up, this says so with the file and key first).
    """
    from caexpo_robot.config_files import read_yaml, validate_config
    path = Path(path or params_file())
    data = read_yaml(path)
    if isinstance(data, dict):
        data = {key: _flattened_section(section) for key, section in data.items()}
    validate_config(_file_model(data if isinstance(data, dict) else {}), data, path)
    return {node_name(key): dict(section['ros__parameters']) for key, section in (data or {}).items()
            if key != WILDCARD}


def validate_overrides(overrides: dict[str, dict], source: str | Path, field: str) -> None:
    """{node: {parameter: value}} given over the parameter file (a scenario's `robot:` section): the same
    checks as `load_params`, ConfigError naming `source`, `field`, the node and the key."""
    from pydantic import Field, create_model

    from caexpo_robot.config_files import ConfigModel, validate_config
    nodes = {f'node_{i}': (_params_model(f'{node} parameters', _declared(node), typed=True) | None,
                           Field(None, alias=node))
             for i, node in enumerate(overrides) if node in ROBOT_NODES}
    section = create_model(f'{field} section', __base__=ConfigModel, **nodes)
    validate_config(create_model('overrides', __base__=ConfigModel, **{field: (section, Field())}),
                    {field: {node: _flatten(values) for node, values in overrides.items()}}, source)


def _flattened_section(section: Any) -> Any:
    """An empty section is an empty parameter list; nested mappings are dotted names, as ROS reads them."""
    section = {} if section is None else section
    if isinstance(section, dict):
        section = {**section}
        params = section.get('ros__parameters')
        section['ros__parameters'] = _flatten(params) if isinstance(params, dict) else (params or {})
    return section


def _flatten(params: dict, prefix: str = '') -> dict:
    flat: dict = {}
    for key, value in params.items():
        name = f'{prefix}{key}'
        flat.update(_flatten(value, f'{name}.') if isinstance(value, dict) else {name: value})
    return flat


def _file_model(data: dict):
    """A model of this file: a field per section naming a known node (its key as written, namespace and
    all); any other section is an extra key, refused."""
    from pydantic import Field, create_model

    from caexpo_robot.config_files import ConfigModel
    fields = {}
    for i, key in enumerate(data):
        name = node_name(str(key))
        if key == WILDCARD or name in ROBOT_NODES:
            declared = _all_declared() if key == WILDCARD else _declared(name)
            params = _params_model(f'{name} parameters', declared, typed=key != WILDCARD)
            section = create_model(f'{name} section', __base__=ConfigModel, ros__parameters=(params, Field()))
            fields[f'section_{i}'] = (section | None, Field(None, alias=str(key)))
    return create_model('parameter file', __base__=ConfigModel, **fields)


def _declared(name: str) -> dict[str, Any]:
    return {param.name: param.default for param in node_class(name).PARAMS} | ROS_BUILTIN_PARAMS


def _all_declared() -> dict[str, Any]:
    return {key: value for name in ROBOT_NODES for key, value in _declared(name).items()}


def _params_model(title: str, declared: dict[str, Any], typed: bool):
    from pydantic import Field, create_model

    from caexpo_robot.config_files import ConfigModel
    fields = {f'param_{i}': (_ros_type(default) if typed else Any, Field(None, alias=key))
              for i, (key, default) in enumerate(declared.items())}
    return create_model(title, __base__=ConfigModel, **fields)


def _ros_type(default: Any) -> Any:
    """The type a value needs for the ROS parameter type `default` declares: exactly that Python type
    (ROS takes no integer for a double, no 0 or 1 for a boolean); a list of one kind keeps that kind."""
    from typing import Annotated

    from pydantic import PlainValidator

    def exactly(kind: type) -> Any:
        def check(value: Any) -> Any:
            if type(value) is not kind:
                raise ValueError(f'should be {_ROS_TYPE_NAMES[kind]}, not {value!r}')
            return value
        return Annotated[kind, PlainValidator(check)]

    if isinstance(default, list):
        kinds = {type(item) for item in default}
        return list[exactly(kinds.pop())] if len(kinds) == 1 else list[Any]
    return exactly(type(default))


_ROS_TYPE_NAMES = {bool: 'a boolean (true or false)', int: 'an integer',
                   float: 'a double (with a decimal point: 15.0, not 15)', str: 'a string'}
