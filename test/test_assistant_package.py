"""The reference assistant as its own package: it imports none of the robot's heavy stack, the robot
imports it only to start it in the simulator, the contract is one set of models, and every file it
reads refuses a misspelt key naming the file and the field."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from caexpo_assistant import ServerSettings, start_in_thread
from caexpo_assistant.catalog import SeedError, load_replies, load_seed_folder
from caexpo_assistant.cli import main as assistant_cli
from caexpo_assistant.paths import data_path
from caexpo_assistant.server import load_server_config
from caexpo_robot.backend import contract
from caexpo_robot.config_files import ConfigError
from seed_files import copy_seed, rewrite

REPO = Path(__file__).resolve().parent.parent
HEAVY = ('rclpy', 'mediapipe', 'vosk', 'cv2', 'sounddevice', 'pyttsx3')


def test_importing_the_assistant_pulls_in_no_robot_runtime():
    code = ('import sys, caexpo_assistant, caexpo_assistant.cli, caexpo_assistant.app; '
            f'print([m for m in {HEAVY!r} if m in sys.modules])')
    done = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == '[]', done.stdout


SCAN_IMPORTERS = """
import ast, json, pathlib, sys
repo = pathlib.Path(sys.argv[1])
importers = []
for path in sorted((repo / 'caexpo_robot').rglob('*.py')):
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else \\
            [node.module or ''] if isinstance(node, ast.ImportFrom) else []
        if any(n == 'caexpo_assistant' or n.startswith('caexpo_assistant.') for n in names):
            importers.append(path.relative_to(repo).as_posix())
print(json.dumps(importers))
"""


def test_the_robot_imports_the_assistant_only_where_the_simulator_starts_it():
    # In a fresh interpreter: CPython 3.11 can leave ast.parse unusable ("AST constructor recursion depth
    # mismatch") in a process where a RecursionError was caught before (the deep-JSON fault tests do that).
    done = subprocess.run([sys.executable, '-c', SCAN_IMPORTERS, str(REPO)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == ['caexpo_robot/sim/runner.py']


def test_the_server_publishes_the_robots_contract_models():
    from caexpo_assistant import app
    for name in ('TurnIn', 'TurnOut', 'SessionCreate', 'SessionOut', 'ErrorBody'):
        assert getattr(app, name) is getattr(contract, name)
    served = json.loads((REPO / 'docs' / 'assistant-openapi.json').read_text(encoding='utf-8'))
    schemas = served['components']['schemas']
    assert schemas['TurnOut']['properties']['intent']['enum'] == list(contract.INTENTS)
    assert schemas['Action']['properties']['type']['enum'] == list(contract.ACTION_TYPES)


@pytest.mark.parametrize('file,change,field', [
    ('exhibitors.yaml', lambda d: d['exhibitors'][0].update(sector=['agriculture']), 'exhibitors.0.sector'),
    ('venue.yaml', lambda d: d['entrances']['entrance_a'].update(facing=0), 'entrances.entrance_a.facing'),
    ('events.yaml', lambda d: d['events'][2].update(titel={'en': 'x'}), 'events.2.titel'),
    ('vocabulary.yaml', lambda d: d.update(countrys={}), 'countrys'),
])
def test_a_misspelt_key_in_a_seed_file_is_refused_naming_file_and_field(tmp_path, file, change, field):
    folder = copy_seed(tmp_path)
    rewrite(folder / file, change)
    with pytest.raises(SeedError) as error:
        load_seed_folder(folder)
    assert f'{folder / file}: {field}: unknown key (misspelt?)' in str(error.value)


def test_a_misspelt_key_in_a_reply_file_is_refused(tmp_path):
    folder = tmp_path / 'replies'
    shutil.copytree(data_path('replies'), folder)
    rewrite(folder / 'km.yaml', lambda d: d['replies'].update(goodby='...'))
    with pytest.raises(SeedError, match=r'km\.yaml: replies\.goodby'):
        load_replies(folder)


def test_a_misspelt_key_in_server_yaml_is_refused_naming_file_and_field(tmp_path, capsys):
    config = tmp_path / 'server.yaml'
    config.write_text(data_path('server.yaml').read_text(encoding='utf-8') + 'catalog_refresh: 5\n', encoding='utf-8')
    with pytest.raises(ConfigError, match=f'{config}: catalog_refresh: unknown key'):
        load_server_config(config)
    assert assistant_cli(['--config', str(config), 'load-seed']) == 2  # the command says so and stops
    assert f'{config}: catalog_refresh: unknown key' in capsys.readouterr().err


def test_server_settings_from_file_and_flags_are_validated_the_same_way(tmp_path, capsys):
    settings = load_server_config()
    assert settings == ServerSettings() and settings.port == 8765  # the packaged file states the defaults
    config = tmp_path / 'server.yaml'
    config.write_text('sqlite_synchronous: SOMETIMES\n', encoding='utf-8')
    with pytest.raises(ConfigError, match='sqlite_synchronous'):
        load_server_config(config)
    assert assistant_cli(['load-seed', '--db', 'mysql://nope']) == 2
    assert 'command line: db_url' in capsys.readouterr().err
    with pytest.raises(ConfigError, match=r'start_in_thread\(\): log_levle: unknown key'):
        start_in_thread(log_levle='info')
