"""config/asr.yaml through the shared config models: misspelt keys and bad values are refused, naming
the file and the field."""
import pytest

from caexpo_robot.config_files import ConfigError
from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.listening.config import AsrConfig, load_asr_config


def test_the_packaged_config_loads_and_every_language_it_names_is_known():
    config = load_asr_config()
    assert config.languages and set(config.languages) <= set(LANGUAGES)
    assert config.endpoint.end_silence_s < config.endpoint.max_utterance_s
    assert 'expo_questions' in config.grammars and 'ko' in config.grammars['expo_questions']


@pytest.mark.parametrize('text, problem', [
    ('endpoint:\n  end_silense_s: 0.5\n', 'endpoint.end_silense_s: unknown key (misspelt?)'),
    ('partial_intervals_s: 0.3\n', 'partial_intervals_s: unknown key (misspelt?)'),
    ('languages: [ko, xx]\n', 'languages.1: Input should be'),
    ('models: {klingon: /models/x}\n', 'models.klingon'),
    ('grammars: {halls: {ko: "not a list"}}\n', 'grammars.halls.ko: Input should be a valid list'),
    ('language_choice: {switch_after: 0}\n', 'language_choice.switch_after: Input should be greater than'),
    ('endpoint: {end_silence_s: 3.0, max_utterance_s: 2.0}\n', 'endpoint: Value error, need end_silence_s'),
    ('mute_tail_s: -1\n', 'mute_tail_s: Input should be greater than or equal to 0'),
    ('- just a list\n', '(top level): Input should be a valid dictionary'),
])
def test_a_bad_key_or_value_is_refused_naming_the_file_and_the_field(tmp_path, text, problem):
    path = tmp_path / 'asr.yaml'
    path.write_text(text, encoding='utf-8')
    with pytest.raises(ConfigError) as refused:
        load_asr_config(path)
    assert str(refused.value).startswith(f'{path}: ') and problem in str(refused.value), str(refused.value)


def test_an_empty_file_gives_the_defaults_and_the_models_are_immutable(tmp_path):
    path = tmp_path / 'asr.yaml'
    path.write_text('# nothing set\n', encoding='utf-8')
    assert load_asr_config(path) == AsrConfig()
    with pytest.raises(ValueError):
        AsrConfig().endpoint.end_silence_s = 9.0
