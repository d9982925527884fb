"""Which voice speaks a language, and what exactly it is fed: the speech plan for one utterance.

Honest fallbacks, always visible in the plan: Filipino is read by a neighbour voice (Indonesian);
Khmer and Lao have no voice, so their text goes to the screen and a short "please read my screen" is
spoken in a configured fallback language. A script no voice can read (Khmer, Lao) is never passed to
a synthesizer: espeak-ng would spell it code point by code point for many seconds.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from caexpo_robot.language.languages import LANGUAGE_INFO, LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.language.scripts import separate_scripts, script_of
from caexpo_robot.speaking.myanmar import myanmar_for_speech
from caexpo_robot.speaking.pinyin import hanzi_to_pinyin
from caexpo_robot.speaking.synthesizer import MAX_RATE_WPM, MIN_RATE_WPM

MODES = ('native', 'neighbour_voice', 'screen_only')
TRANSFORMS = ('none', 'pinyin', 'myanmar_clauses')


@dataclass(frozen=True)
class SpeechPlan:
    language: str            # the visitor language asked for
    voice: str | None        # espeak-ng voice id to speak with (None = nothing to speak)
    spoken_text: str         # what goes to the synthesizer (pinyin for Mandarin, fallback phrase for km/lo)
    spoken_language: str     # language actually spoken (== language unless a fallback phrase is spoken)
    screen_text: str | None  # text to show on the robot's screen (always the original for km/lo; else None)
    fallback: str | None     # None | 'neighbour_voice' | 'screen_only'
    detail: str              # human-readable note for events/logs, e.g. "fil read with id voice"
    rate_wpm: int = 150      # speaking rate for this voice


@dataclass(frozen=True)
class VoiceEntry:
    voice: str | None
    mode: str
    transform: str = 'none'
    fallback_language: str | None = None
    rate_wpm: int | None = None


class VoiceTable:
    def __init__(self, entries: dict[str, VoiceEntry], phrasebook: Phrasebook, default_rate_wpm: int = 150):
        self._entries = entries
        self._phrasebook = phrasebook
        self.default_rate_wpm = default_rate_wpm
        _validate(entries, default_rate_wpm)
        if 'read_screen' not in phrasebook.keys():
            raise ValueError('the phrasebook has no read_screen phrase, needed for screen-only languages')
        # Scripts some native voice reads; letters of any other script never reach a synthesizer.
        native_scripts = {LANGUAGE_INFO[c].script for c, e in entries.items() if e.mode != 'screen_only'}
        self.unvoiced_scripts = frozenset(
            LANGUAGE_INFO[c].script for c, e in entries.items() if e.mode == 'screen_only') - native_scripts

    @classmethod
    def load(cls, path: str | Path | None = None, phrasebook: Phrasebook | None = None) -> 'VoiceTable':
        """Read the voice table (default: the package's config/voices.yaml)."""
        if path is None:
            from caexpo_robot.paths import config_path
            path = config_path('voices.yaml')
        try:
            data = yaml.safe_load(Path(path).read_text(encoding='utf-8'))
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ValueError(f'cannot read voice table {path}: {exc}') from exc
        if not isinstance(data, dict) or not isinstance(data.get('languages'), dict):
            raise ValueError(f'{path}: expected a mapping with a "languages" mapping')
        entries = {}
        for code, raw in data['languages'].items():
            if not isinstance(raw, dict):
                raise ValueError(f'{path}: languages.{code} must be a mapping')
            unknown = set(raw) - {'voice', 'mode', 'transform', 'fallback_language', 'rate_wpm'}
            if unknown:
                raise ValueError(f'{path}: languages.{code} has unknown keys {sorted(unknown)}')
            entries[str(code)] = VoiceEntry(
                voice=raw.get('voice'), mode=raw.get('mode', 'native'), transform=raw.get('transform', 'none'),
                fallback_language=raw.get('fallback_language'), rate_wpm=raw.get('rate_wpm'))
        try:
            return cls(entries, phrasebook or Phrasebook.load(), int(data.get('default_rate_wpm', 150)))
        except ValueError as exc:
            raise ValueError(f'{path}: {exc}') from None

    def voice_kind(self, language: str) -> str:
        """'native' | 'fallback:<voice>' | 'screen_only'."""
        entry = self.entry(language)
        if entry.mode == 'screen_only':
            return 'screen_only'
        if entry.mode == 'neighbour_voice':
            return f'fallback:{entry.voice}'
        return 'native'

    def voices_used(self) -> set[str]:
        return {e.voice for e in self._entries.values() if e.voice}

    def plan(self, text: str, language: str) -> SpeechPlan:
        if not isinstance(text, str) or not text.strip():
            raise ValueError('cannot plan speech for empty text')
        entry = self.entry(language)
        text = ' '.join(text.split())
        if entry.mode == 'screen_only':
            return self._screen_plan(text, language, entry.fallback_language,
                                     f'{language} has no voice: text shown on screen, '
                                     f'read_screen said in {entry.fallback_language}')
        speakable, removed = self._strip_unvoiced(text)
        if not _has_letters_or_digits(speakable):
            # e.g. a Khmer name alone in a Vietnamese answer: nothing a voice may read
            return self._screen_plan(text, language, language,
                                     f'{language} text is only in {"/".join(sorted(removed))} script, '
                                     f'which no voice reads: shown on screen, read_screen said in {language}')
        spoken = _transform(separate_scripts(speakable), entry.transform)
        notes = []
        if entry.transform == 'pinyin':
            notes.append(f'{language} spoken as pinyin with {entry.voice}')
        if entry.mode == 'neighbour_voice':
            notes.append(f'{language} read with {entry.voice} voice')
        if removed:
            notes.append(f'{"/".join(sorted(removed))} script left out of speech, shown on screen')
        return SpeechPlan(
            language=language, voice=entry.voice, spoken_text=spoken, spoken_language=language,
            screen_text=text if removed else None,
            fallback='neighbour_voice' if entry.mode == 'neighbour_voice' else None,
            detail='; '.join(notes) or f'{language} spoken with {entry.voice}',
            rate_wpm=entry.rate_wpm or self.default_rate_wpm)

    def _screen_plan(self, text: str, language: str, say_in: str, detail: str) -> SpeechPlan:
        phrase = self._phrasebook.say('read_screen', say_in)
        speaker = self.entry(phrase.language)
        spoken = _transform(phrase.text, speaker.transform)
        return SpeechPlan(language=language, voice=speaker.voice, spoken_text=spoken,
                          spoken_language=phrase.language, screen_text=text, fallback='screen_only',
                          detail=detail, rate_wpm=speaker.rate_wpm or self.default_rate_wpm)

    def _strip_unvoiced(self, text: str) -> tuple[str, set[str]]:
        removed = set()
        kept = []
        for ch in text:
            script = script_of(ch)
            if script in self.unvoiced_scripts:
                removed.add(script)
                kept.append(' ')
            else:
                kept.append(ch)
        return ' '.join(''.join(kept).split()), removed

    def entry(self, language: str) -> VoiceEntry:
        try:
            return self._entries[language]
        except (KeyError, TypeError):
            raise ValueError(f'no voice entry for language {language!r}; '
                             f'known: {", ".join(self._entries)}') from None


def _transform(text: str, transform: str) -> str:
    if transform == 'pinyin':
        return hanzi_to_pinyin(text)
    if transform == 'myanmar_clauses':
        return myanmar_for_speech(text)
    return text


def _has_letters_or_digits(text: str) -> bool:
    return bool(re.search(r'[^\W_]', text))


def _validate(entries: dict[str, VoiceEntry], default_rate_wpm: int) -> None:
    missing = [c for c in LANGUAGES if c not in entries]
    if missing:
        raise ValueError(f'voice table lacks languages {missing}')
    unknown = [c for c in entries if c not in LANGUAGES]
    if unknown:
        raise ValueError(f'voice table has unknown languages {unknown}')
    if not MIN_RATE_WPM <= default_rate_wpm <= MAX_RATE_WPM:
        raise ValueError(f'default_rate_wpm {default_rate_wpm} outside {MIN_RATE_WPM}..{MAX_RATE_WPM}')
    for code, e in entries.items():
        if e.mode not in MODES:
            raise ValueError(f'{code}: mode {e.mode!r} is not one of {MODES}')
        if e.transform not in TRANSFORMS:
            raise ValueError(f'{code}: transform {e.transform!r} is not one of {TRANSFORMS}')
        if e.rate_wpm is not None and not (isinstance(e.rate_wpm, int)
                                           and MIN_RATE_WPM <= e.rate_wpm <= MAX_RATE_WPM):
            raise ValueError(f'{code}: rate_wpm {e.rate_wpm!r} outside {MIN_RATE_WPM}..{MAX_RATE_WPM}')
        if e.mode == 'screen_only':
            target = entries.get(e.fallback_language) if e.fallback_language else None
            if target is None or target.mode != 'native':
                raise ValueError(f'{code}: screen_only needs a fallback_language with a native voice, '
                                 f'got {e.fallback_language!r}')
        elif not isinstance(e.voice, str) or not e.voice:
            raise ValueError(f'{code}: mode {e.mode} needs a voice id')
