"""The phrasebook: everything the robot says on its own, per language, from config/phrasebook/<code>.yaml.

English is the fallback: a phrase missing in a language (or an unknown language) is said in English,
and that is logged once per (language, key). Placeholders `{name}`, `{hall}`, `{time}` are filled by a
restricted substitution: only `{identifier}` is a placeholder, values are inserted as plain text and
never re-read, so braces or format specs in values (or odd braces in templates) cannot inject.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import yaml

from caexpo_robot.language.languages import FALLBACK_LANGUAGE, LANGUAGES

log = logging.getLogger(__name__)

PLACEHOLDER = re.compile(r'\{([A-Za-z_][A-Za-z0-9_]*)\}')
# A visitor name or hall read aloud; longer values are cut (a robot must not read a paragraph).
MAX_VALUE_CHARS = 80
# The canned answer: "I can't reach the information service" + the offer to call staff.
CANNED_ANSWER_KEYS = ('handoff_failed', 'call_staff')


class PlaceholderError(ValueError):
    """A phrase needs a value that was not given (or was empty after cleaning)."""


@dataclass(frozen=True)
class Phrase:
    text: str
    language: str                    # the language the text is in
    key: str
    fallback_from: str | None = None  # the language asked for when English was used instead


def clean_value(value: object) -> str:
    """A placeholder value as plain, single-line, bounded text."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f'placeholder values must be str, int or float, got {type(value).__name__}')
    text = ''.join(' ' if unicodedata.category(ch) == 'Cc' else ch for ch in str(value))
    text = ' '.join(text.split())
    if len(text) > MAX_VALUE_CHARS:
        text = text[:MAX_VALUE_CHARS - 1].rstrip() + '…'
    return text


def fill(template: str, values: dict[str, object]) -> str:
    """Replace each `{identifier}` in template by its cleaned value; anything else stays literal."""
    cleaned: dict[str, str] = {}
    for name in placeholders(template):
        if name not in values or values[name] is None:
            raise PlaceholderError(f'phrase needs a value for {{{name}}}; got {sorted(values) or "none"}')
        cleaned[name] = clean_value(values[name])
        if not cleaned[name]:
            raise PlaceholderError(f'the value for {{{name}}} is empty')
    return PLACEHOLDER.sub(lambda m: cleaned[m.group(1)], template)


def placeholders(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


class Phrasebook:
    def __init__(self, phrases: dict[str, dict[str, str]], problems: Iterable[str] = ()):
        if FALLBACK_LANGUAGE not in phrases or not phrases[FALLBACK_LANGUAGE]:
            raise ValueError(f'the phrasebook needs the {FALLBACK_LANGUAGE!r} phrases (the fallback)')
        self._phrases = phrases
        self.problems: list[str] = list(problems)  # entries dropped at load, for diagnostics
        self._logged: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: str | Path | None = None) -> 'Phrasebook':
        """Read every <code>.yaml under folder (default: the package's config/phrasebook)."""
        if folder is None:
            from caexpo_robot.paths import config_path
            folder = config_path('phrasebook')
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f'phrasebook folder not found: {folder}')
        phrases: dict[str, dict[str, str]] = {}
        problems: list[str] = []
        for path in sorted(folder.glob('*.yaml')):
            code = path.stem
            if code not in LANGUAGES:
                problems.append(f'{path.name}: {code!r} is not one of {", ".join(LANGUAGES)}; file ignored')
                continue
            try:
                data = yaml.safe_load(path.read_text(encoding='utf-8'))
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise ValueError(f'cannot parse phrasebook file {path}: {exc}') from exc
            if not isinstance(data, dict) or not isinstance(data.get('phrases'), dict):
                raise ValueError(f'{path}: expected a mapping with a "phrases" mapping')
            if data.get('language', code) != code:
                raise ValueError(f'{path}: language {data.get("language")!r} does not match the file name')
            table = {}
            for key, text in data['phrases'].items():
                if not isinstance(text, str) or not text.strip():
                    problems.append(f'{code}.{key}: not a non-empty string; dropped')
                    continue
                table[str(key)] = text.strip()
            phrases[code] = table
        if FALLBACK_LANGUAGE not in phrases:
            raise FileNotFoundError(f'{folder}/{FALLBACK_LANGUAGE}.yaml is required (the fallback language)')
        # A translated template must use exactly the English placeholders (catches {nmae} typos).
        for code, table in phrases.items():
            for key in list(table):
                english = phrases[FALLBACK_LANGUAGE].get(key)
                if english is not None and placeholders(table[key]) != placeholders(english):
                    problems.append(f'{code}.{key}: placeholders {sorted(placeholders(table[key]))} differ '
                                    f'from English {sorted(placeholders(english))}; dropped')
                    del table[key]
        for problem in problems:
            log.warning('phrasebook: %s', problem)
        return cls(phrases, problems)

    def canned_answer(self, language: str) -> str:
        """What the robot says when the assistant gives no usable answer (or none is configured): the one
        definition, used by the assistant client's fallback and by the interaction node without a backend."""
        return ' '.join(self.say(key, language).text for key in CANNED_ANSWER_KEYS)

    def keys(self) -> list[str]:
        return list(self._phrases[FALLBACK_LANGUAGE])

    def say(self, key: str, language: str, **values: object) -> Phrase:
        """The phrase `key` in `language`, placeholders filled; English (logged once) if it is missing."""
        english = self._phrases[FALLBACK_LANGUAGE]
        if key not in english:
            raise KeyError(f'unknown phrase key {key!r}; known keys: {", ".join(english)}')
        template = self._phrases.get(language, {}).get(key)
        if template is not None:
            return Phrase(fill(template, values), language, key)
        self._log_once(language, key)
        return Phrase(fill(english[key], values), FALLBACK_LANGUAGE, key, fallback_from=str(language))

    def missing(self) -> list[tuple[str, str]]:
        """(language, key) for every phrase of LANGUAGES that would fall back to English."""
        return [(code, key) for code in LANGUAGES for key in self.keys()
                if key not in self._phrases.get(code, {})]

    def complete(self, language: str) -> bool:
        return language in self._phrases and all(k in self._phrases[language] for k in self.keys())

    def _log_once(self, language: str, key: str) -> None:
        with self._lock:
            if (language, key) in self._logged:
                return
            self._logged.add((language, key))
        if language in LANGUAGES:
            log.warning('phrase %r missing in %r; saying it in English', key, language)
        else:
            log.warning('unknown language %r (phrase %r); saying it in English', language, key)


def multilingual_opener(phrasebook: Phrasebook, languages: Iterable[str], key: str = 'opener') -> list[Phrase]:
    """One short phrase per configured language, in order, each to be spoken with its own voice.

    Used before the visitor's language is known. Duplicates are said once; an unknown code is a
    configuration error (ValueError) rather than an English line said twice.
    """
    phrases, seen = [], set()
    for code in languages:
        if code not in LANGUAGES:
            raise ValueError(f'opener language {code!r} is not one of {", ".join(LANGUAGES)}')
        if code not in seen:
            seen.add(code)
            phrases.append(phrasebook.say(key, code))
    if not phrases:
        raise ValueError('the opener needs at least one language')
    return phrases
