"""`caexpo-robot` subcommands, run as an operator runs them (a subprocess of the installed command)."""
import json
import subprocess
import sys
from pathlib import Path

COMMAND = str(Path(sys.executable).parent / 'caexpo-robot')


def run(*args):
    return subprocess.run([COMMAND, *args], capture_output=True, text=True, timeout=120)


def test_detect_prints_one_json_line_per_image_and_fails_on_a_bad_file(shared_data, tmp_path):
    bad = tmp_path / 'notes.jpg'
    bad.write_text('not an image')
    result = run('detect', str(shared_data / 'faces' / 'two_people.jpg'), str(bad))
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 1
    assert len(lines[0]['faces']) == 2 and set(lines[0]['faces'][0]) == {'x', 'y', 'w', 'h', 'score'}
    assert lines[1]['image'] == str(bad) and lines[1]['error']


def test_langid_and_languages():
    result = run('langid', 'Xin chào, hội trường 5 ở đâu?', '전시회는 어디에 있어요?')
    assert result.returncode == 0
    assert [line.split('\t')[0] for line in result.stdout.splitlines()] == ['vi', 'ko']
    table = run('languages', '--json')
    rows = {row['code']: row for row in json.loads(table.stdout)}
    assert set(rows) == {'vi', 'th', 'ms', 'id', 'fil', 'my', 'km', 'lo', 'zh', 'en', 'ko'}
    assert rows['ko']['asr'].startswith('installed at') and rows['th']['asr'] == 'none exists'
    assert rows['km']['tts'].startswith('screen only')


def test_models_list_reports_each_language():
    result = run('models', 'list')
    assert result.returncode == 0
    assert 'ko' in result.stdout and 'installed' in result.stdout


def test_sim_refuses_a_scenario_with_a_misspelt_key_naming_the_file_and_the_field(tmp_path):
    scenario = tmp_path / 'typo.yaml'
    scenario.write_text('duraton_s: 5\n'
                        'visitors: [{name: a, path: [[0, 3], [1, 1]], says: [{at: 1, text: hi, lang: en}]}]\n')
    result = run('sim', str(scenario), '--out', str(tmp_path / 'out'))
    assert result.returncode == 2
    assert f'{scenario}: duraton_s: unknown key' in result.stderr
    assert f'{scenario}: visitors.0.says.0.lang: unknown key' in result.stderr
    assert not (tmp_path / 'out').exists()


def test_sim_refuses_a_robot_parameter_no_node_declares(tmp_path):
    scenario = tmp_path / 'typo.yaml'
    scenario.write_text('robot: {interaction: {opener_langauges: [en]}, asr: {grammar: 5}}\n')
    result = run('sim', str(scenario), '--out', str(tmp_path / 'out'))
    assert result.returncode == 2
    assert f'{scenario}: robot.interaction.opener_langauges: unknown key' in result.stderr
    assert f'{scenario}: robot.asr.grammar: ' in result.stderr and 'should be a string' in result.stderr
