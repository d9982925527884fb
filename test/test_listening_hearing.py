"""Which engine hears each language and whether it is trusted (listening/hearing.py), with real AsrConfig
objects and model folders made here: nothing depends on the models installed on this machine."""
from pathlib import Path

import pytest

from caexpo_robot.capabilities import diagnostic_values, format_table, language_rows
from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.listening.config import AsrConfig, WhisperConfig
from caexpo_robot.listening.hearing import ASSEMBLE_COMMAND, hearing, hearing_table
from caexpo_robot.listening.models import FST_MAGIC, KALDI_MODEL_HEADER, WHISPER_FILES


@pytest.fixture(autouse=True)
def no_installed_models(tmp_path, monkeypatch):
    """No Vosk or Whisper model of the developer's machine is found unless a test configures it."""
    home = tmp_path / 'home'
    home.mkdir()
    monkeypatch.setenv('HOME', str(home))
    monkeypatch.setenv('XDG_CACHE_HOME', str(home / '.cache'))
    monkeypatch.delenv('VOSK_MODEL_PATH', raising=False)


def vosk_folder(path: Path) -> Path:
    """Passes the Vosk structure check (hearing() never loads a model)."""
    for sub in ('am', 'conf', 'graph'):
        (path / sub).mkdir(parents=True, exist_ok=True)
    (path / 'am/final.mdl').write_bytes(KALDI_MODEL_HEADER + b' x' * 50)
    (path / 'conf/model.conf').write_text('--beam=10.0\n')
    (path / 'graph/HCLG.fst').write_bytes(FST_MAGIC + b'\x00' * 100)
    return path


def whisper_folder(path: Path, missing: str | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in ('model.bin', *WHISPER_FILES):
        if name != missing:
            (path / name).write_bytes(b'x')
    return path


def config(tmp_path, **changes) -> AsrConfig:
    """Korean and English on Vosk (Korean's model in tmp, English's missing), Whisper in tmp."""
    base = {'engines': {'ko': 'vosk', 'en': 'vosk'},
            'models': {'ko': str(vosk_folder(tmp_path / 'vosk-ko')), 'en': str(tmp_path / 'nonexistent')},
            'whisper': WhisperConfig(model_dir=str(whisper_folder(tmp_path / 'whisper')))}
    return AsrConfig(**{**base, **changes})


def test_vosk_where_its_model_is_whisper_for_the_rest_and_trust_per_language(tmp_path):
    table = hearing_table(config(tmp_path))
    assert list(table) == list(LANGUAGES)
    ko, en, th, my = table['ko'], table['en'], table['th'], table['my']
    assert (ko.engine, ko.configured, ko.model_state) == ('vosk', 'vosk', 'installed')
    assert ko.model_path == tmp_path / 'vosk-ko'
    assert ko.heard_by() == f'Vosk (configured path {tmp_path / "vosk-ko"})' and ko.trust_text() == 'yes'
    # English is set to Vosk but its model is missing: Whisper hears it, and says why
    assert (en.engine, en.configured, en.note) == ('whisper', 'vosk', 'Vosk model not installed')
    assert en.heard_by() == f'Whisper ({tmp_path / "whisper"}) (Vosk model not installed)'
    assert (th.engine, th.configured, th.note, th.model_path) == ('whisper', 'whisper', '', tmp_path / 'whisper')
    assert all(table[c].engine == 'whisper' for c in LANGUAGES if c not in ('ko',))
    # Burmese, Khmer, Lao: heard, never trusted (the asr.yaml default); the rest always trusted
    assert (my.trusted, my.trust_threshold, my.trust_text()) == (False, 1.0, 'no: offers the screen (trust 1.0)')
    assert [c for c in LANGUAGES if not table[c].trusted] == ['my', 'km', 'lo']
    assert (th.trusted, th.trust_threshold) == (True, 0.0)


def test_a_threshold_below_one_is_trusted_above_it_like_config_trusted(tmp_path):
    cfg = config(tmp_path, trust={'vi': 0.6, 'lo': 1.0})
    vi = hearing(cfg, 'vi')
    assert (vi.trusted, vi.trust_threshold, vi.trust_text()) == (True, 0.6, 'below 0.6 offers the screen')
    assert cfg.trusted('vi', 0.6) and not cfg.trusted('vi', 0.59)
    assert hearing(cfg, 'my').trust_text() == 'yes' and hearing(cfg, 'lo').trust_text().startswith('no:')


def test_without_whisper_only_vosk_languages_are_heard_and_the_note_names_the_assembly_command(tmp_path):
    cfg = config(tmp_path, whisper=WhisperConfig())   # the default whisper-base, not assembled in this HOME
    table = hearing_table(cfg)
    assert [c for c in LANGUAGES if table[c].heard] == ['ko']
    th, en = table['th'], table['en']
    assert (th.engine, th.configured, th.model_state) == (None, 'whisper', 'not_installed')
    assert th.heard_by() == f'not heard: Whisper base not assembled; run `{ASSEMBLE_COMMAND}`'
    assert ASSEMBLE_COMMAND == 'caexpo-robot models assemble whisper-base'
    assert en.heard_by() == (f'not heard: Vosk model not installed, and Whisper base not assembled; '
                             f'run `{ASSEMBLE_COMMAND}`')
    assert th.trust_text() == '-'
    # a configured folder that is not there is reported as such
    missing = hearing(config(tmp_path, whisper=WhisperConfig(model_dir=str(tmp_path / 'gone'))), 'vi')
    assert missing.engine is None and f'{tmp_path / "gone"} does not exist' in missing.model_detail


def test_broken_models_fall_through_the_rule(tmp_path):
    (tmp_path / 'empty-ko').mkdir()
    cfg = config(tmp_path, models={'ko': str(tmp_path / 'empty-ko')},
                 whisper=WhisperConfig(model_dir=str(whisper_folder(tmp_path / 'w2', missing='tokenizer.json'))))
    ko = hearing(cfg, 'ko')
    assert ko.engine is None and ko.model_state == 'corrupt' and 'misses tokenizer.json' in ko.model_detail
    assert ko.note.startswith('Vosk model corrupt, and Whisper')
    cfg = config(tmp_path, models={'ko': str(tmp_path / 'empty-ko')})
    assert (hearing(cfg, 'ko').engine, hearing(cfg, 'ko').note) == ('whisper', 'Vosk model corrupt')
    # Thai set to Vosk: no Vosk model exists for it at all
    thai = hearing(config(tmp_path, engines={'th': 'vosk'}), 'th')
    assert (thai.engine, thai.note) == ('whisper', 'no Vosk model exists')


def test_a_language_left_out_of_the_config_is_not_heard(tmp_path):
    cfg = config(tmp_path, languages=('en', 'ko'))
    vi = hearing(cfg, 'vi')
    assert (vi.engine, vi.configured, vi.heard_by()) == (None, None, 'not heard: not in asr.yaml languages')
    assert hearing(cfg, 'ko').engine == 'vosk'
    with pytest.raises(ValueError, match="unknown language 'xx'"):
        hearing(cfg, 'xx')


def test_the_language_table_shows_who_hears_and_trust_and_diagnostics_still_work(tmp_path):
    table = hearing_table(config(tmp_path, whisper=WhisperConfig()))
    rows = {r['code']: r for r in language_rows(hearing=table.__getitem__)}
    assert rows['ko']['heard_by'].startswith('Vosk (configured path') and rows['ko']['engine'] == 'vosk'
    assert rows['th']['heard_by'].startswith('not heard: Whisper base not assembled') and rows['th']['engine'] is None
    assert rows['ko']['trusted'] == 'yes' and rows['th']['trusted'] == '-' and rows['vi']['asr'] == 'not checked'
    text = format_table(list(rows.values()))
    assert text.splitlines()[0] == ('| Code | Language | Native name | Phrasebook | TTS voice | Heard by | Trusted '
                                    '| Vosk model | Text LID |')
    broken = language_rows(hearing=lambda code: 1 / 0)
    assert broken[0]['heard_by'].startswith('error') and broken[0]['engine'] is None
    values = diagnostic_values(list(rows.values()), hearable=[c for c, h in table.items() if h.heard])
    assert values['language_ko'].endswith('speech heard') and values['language_th'].endswith('typed on the screen')
