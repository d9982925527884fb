"""Packaging facts: every node's declared parameters match config/greeter.yaml, entry points and launch files agree."""
import ast
import re
import sys
from pathlib import Path

import pytest

from caexpo_robot import graph

REPO = Path(__file__).resolve().parent.parent


def setup_entry_points():
    text = (REPO / 'setup.py').read_text()
    nodes = ast.literal_eval(re.search(r'NODES = (\[.*?\])', text).group(1))
    return set(nodes) | {'caexpo-robot', 'caexpo-assistant'}


@pytest.mark.parametrize('name', graph.ROBOT_NODES)
def test_yaml_documents_exactly_the_declared_parameters_with_their_defaults(name):
    declared = {p.name: p.default for p in graph.node_class(name).PARAMS}
    configured = graph.load_params()[name]
    assert set(configured) == set(declared), f'{name}: yaml and node disagree'
    for key, value in declared.items():
        assert configured[key] == value, f'{name}.{key}: yaml {configured[key]!r} != default {value!r}'
    assert all(p.description for p in graph.node_class(name).PARAMS)


def test_a_parameter_file_with_a_misspelt_key_is_refused_naming_file_node_and_key(tmp_path):
    from caexpo_robot.config_files import ConfigError
    text = (REPO / 'config' / 'greeter.yaml').read_text()
    typo = tmp_path / 'greeter.yaml'
    typo.write_text(text.replace('    fps: 15.0', '    fsp: 15.0').replace('    chunk_ms: 100', '    chunk_ms: 100.0')
                    + 'face_detectr:\n  ros__parameters: {}\n')
    with pytest.raises(ConfigError) as refused:
        graph.load_params(typo)
    problems = str(refused.value).splitlines()
    assert f'{typo}: camera.ros__parameters.fsp: unknown key (misspelt?)' in problems
    assert f'{typo}: face_detectr: unknown key (misspelt?)' in problems
    assert any(line.startswith(f'{typo}: microphone.ros__parameters.chunk_ms: ') and 'an integer' in line
               for line in problems)
    assert len(problems) == 3


def test_a_namespaced_parameter_file_loads_with_nested_names_as_ros_reads_them(tmp_path):
    namespaced = tmp_path / 'robot.yaml'
    namespaced.write_text('/entrance_a/camera:\n  ros__parameters: {fps: 5.0}\n'
                          "'**':\n  ros__parameters: {use_sim_time: true}\n")
    assert graph.load_params(namespaced) == {'camera': {'fps': 5.0}}


def test_every_yaml_parameter_line_is_commented():
    for line in (REPO / 'config' / 'greeter.yaml').read_text().splitlines():
        if re.match(r'^\s{4}\w+:', line) and not line.strip().startswith('#'):
            key = line.split(':')[0].strip()
            if key not in ('height',):   # width and height share a comment
                assert '#' in line, f'uncommented parameter: {line.strip()}'


def test_every_node_is_an_entry_point_with_a_main():
    entry_points = setup_entry_points()
    for name in graph.ROBOT_NODES:
        assert name in entry_points
        module = __import__(f'caexpo_robot.nodes.{name}_node', fromlist=['main'])
        assert callable(module.main)


def test_package_xml_declares_runtime_dependencies():
    text = (REPO / 'package.xml').read_text()
    assert '<package format="3">' in text
    for dep in ('rclpy', 'std_msgs', 'sensor_msgs', 'std_srvs', 'diagnostic_msgs', 'rosgraph_msgs', 'espeak-ng'):
        assert f'<exec_depend>{dep}</exec_depend>' in text


class _Recorder:
    """Stands in for the launch API (not installable here) and records what the launch file builds."""
    def __init__(self, kind):
        self.kind = kind

    def __call__(self, *args, **kwargs):
        return (self.kind, args, kwargs)


@pytest.mark.parametrize('launch_file', ['greeter.launch.py', 'sim.launch.py'])
def test_launch_files_build_the_declared_graph(launch_file, monkeypatch):
    import types
    fake = {}
    api = {'launch': ['LaunchDescription'], 'launch.actions': ['DeclareLaunchArgument', 'ExecuteProcess'],
           'launch.substitutions': ['LaunchConfiguration'], 'launch_ros': [],
           'launch_ros.actions': ['Node'], 'launch_ros.parameter_descriptions': ['ParameterValue']}
    for module, names in api.items():
        fake[module] = types.ModuleType(module)
        for name in names:
            setattr(fake[module], name, _Recorder(name))
        monkeypatch.setitem(sys.modules, module, fake[module])
    path = REPO / 'launch' / launch_file
    namespace = {}
    exec(compile(path.read_text(), str(path), 'exec'), namespace)
    kind, (entities,), _ = namespace['generate_launch_description']()
    assert kind == 'LaunchDescription'
    entry_points = setup_entry_points()
    for entity_kind, _, kwargs in entities:
        if entity_kind == 'Node':
            assert kwargs['package'] == 'caexpo_robot' and kwargs['executable'] in entry_points
            params_path = graph.params_file()
            assert params_path.is_file()
        if entity_kind == 'ExecuteProcess':
            assert kwargs['cmd'][0] in entry_points
        if entity_kind == 'DeclareLaunchArgument' and kwargs.get('default_value', '').endswith('.yaml'):
            assert Path(kwargs['default_value']).is_file()
    if launch_file == 'greeter.launch.py':
        assert [k['executable'] for kind, _, k in entities if kind == 'Node'] == list(graph.ROBOT_NODES)
        assert all(k['respawn'] is True and k['respawn_delay'] > 0 for kind, _, k in entities if kind == 'Node')


def test_every_code_folder_is_a_package_that_setup_installs():
    """A folder without __init__.py is skipped by find_packages: a plain colcon or pip install would lack it."""
    from setuptools import find_packages
    installed = set(find_packages(str(REPO), exclude=['test', 'test.*', 'bench']))
    code_folders = {str(p.parent.relative_to(REPO)).replace('/', '.') for p in (REPO / 'caexpo_robot').rglob('*.py')}
    assert code_folders <= installed, f'not installed: {sorted(code_folders - installed)}'
