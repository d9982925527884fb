"""ASR settings (config/asr.yaml) as typed, validated dataclasses."""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from caexpo_robot.listening.models import LANGUAGES


class AsrConfigError(ValueError):
    """The ASR config file has an unknown key, a wrong type or an out-of-range value."""


@dataclass(frozen=True)
class EndpointConfig:
    noise_floor_init_dbfs: float = -55.0
    noise_adapt_s: float = 2.0
    speech_margin_db: float = 10.0
    min_speech_dbfs: float = -45.0
    start_speech_ms: int = 200
    end_silence_s: float = 0.5
    max_utterance_s: float = 12.0
    preroll_ms: int = 400


@dataclass(frozen=True)
class ChoiceConfig:
    lid_weight: float = 0.4
    min_lock_score: float = 0.45
    strong_score: float = 0.6
    switch_margin: float = 0.15
    switch_after: int = 2
    doubt_score: float = 0.35
    listen_all_when_locked: bool = False


@dataclass(frozen=True)
class AsrConfig:
    languages: tuple[str, ...] = ('ko', 'en', 'zh', 'vi', 'fil')
    models: dict[str, str | None] = field(default_factory=dict)
    endpoint: EndpointConfig = EndpointConfig()
    partial_interval_s: float = 0.3
    mute_tail_s: float = 0.3
    language_choice: ChoiceConfig = ChoiceConfig()
    grammars: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def _section(cls, raw: Any, name: str):
    if raw is None:
        return cls()
    if not isinstance(raw, dict):
        raise AsrConfigError(f'{name} must be a mapping')
    known = {f.name: f for f in fields(cls)}
    unknown = set(raw) - set(known)
    if unknown:
        raise AsrConfigError(f'unknown key(s) in {name}: {", ".join(sorted(unknown))}')
    values = {}
    for key, value in raw.items():
        default = getattr(cls(), key)
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise AsrConfigError(f'{name}.{key} must be true/false')
        elif isinstance(default, (int, float)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise AsrConfigError(f'{name}.{key} must be a number, got {value!r}')
            value = type(default)(value)
        values[key] = value
    return cls(**values)


def parse_asr_config(raw: dict | None) -> AsrConfig:
    raw = dict(raw or {})
    top = {f.name for f in fields(AsrConfig)}
    unknown = set(raw) - top
    if unknown:
        raise AsrConfigError(f'unknown key(s) in asr config: {", ".join(sorted(unknown))}')
    languages = tuple(raw.get('languages', AsrConfig.languages))
    bad = [lang for lang in languages if lang not in LANGUAGES]
    if bad:
        raise AsrConfigError(f'unknown language code(s) {bad}; known: {" ".join(LANGUAGES)}')
    models = raw.get('models') or {}
    if not isinstance(models, dict) or any(k not in LANGUAGES for k in models):
        raise AsrConfigError('models must map language codes to a folder or null')
    grammars = raw.get('grammars') or {}
    if not isinstance(grammars, dict):
        raise AsrConfigError('grammars must map a mode name to {language: [phrases]}')
    for mode, per_lang in grammars.items():
        if not isinstance(per_lang, dict) or not all(
                isinstance(p, list) and all(isinstance(s, str) for s in p)
                for p in per_lang.values()):
            raise AsrConfigError(f'grammars.{mode} must map languages to lists of phrases')
    values = {}
    for key in ('partial_interval_s', 'mute_tail_s'):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise AsrConfigError(f'{key} must be a non-negative number, got {value!r}')
            values[key] = type(getattr(AsrConfig(), key))(value)
    endpoint = _section(EndpointConfig, raw.get('endpoint'), 'endpoint')
    choice = _section(ChoiceConfig, raw.get('language_choice'), 'language_choice')
    if endpoint.end_silence_s <= 0 or endpoint.max_utterance_s <= endpoint.end_silence_s:
        raise AsrConfigError('endpoint: need 0 < end_silence_s < max_utterance_s')
    if not 0.0 <= choice.lid_weight <= 1.0:
        raise AsrConfigError('language_choice.lid_weight must be within 0..1')
    if choice.switch_after < 1:
        raise AsrConfigError('language_choice.switch_after must be at least 1')
    return AsrConfig(languages=languages, models=dict(models), endpoint=endpoint,
                     language_choice=choice, grammars=grammars, **values)


def load_asr_config(path: str | Path | None = None) -> AsrConfig:
    """The config from `path`, else the package's config/asr.yaml, else built-in defaults."""
    if path is None:
        from caexpo_robot.paths import config_path
        try:
            path = config_path('asr.yaml')
        except FileNotFoundError:
            return AsrConfig()
        if not Path(path).is_file():
            return AsrConfig()
    with open(path, encoding='utf-8') as handle:
        try:
            raw = yaml.safe_load(handle)
        except yaml.YAMLError as exc:
            raise AsrConfigError(f'{path}: invalid YAML: {exc}') from exc
    if raw is not None and not isinstance(raw, dict):
        raise AsrConfigError(f'{path}: top level must be a mapping')
    return parse_asr_config(raw)
