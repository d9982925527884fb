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
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from caexpo_robot.config_files import ConfigError, ConfigModel, load_config
from caexpo_robot.language.languages import LANGUAGE_INFO, LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.language.scripts import script_of, separate_scripts
from caexpo_robot.messages import Language
from caexpo_robot.speaking.myanmar import myanmar_for_speech
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


class VoiceEntry(ConfigModel):
    """One language's entry in config/voices.yaml."""
    model_config = ConfigDict(frozen=True)
    voice: str | None = None
    mode: Literal[MODES] = 'native'
    transform: Literal[TRANSFORMS] = 'none'
    fallback_language: Language | None = None
    rate_wpm: Annotated[int, Field(ge=MIN_RATE_WPM, le=MAX_RATE_WPM)] | None = None


class VoiceTableFile(ConfigModel):
    """config/voices.yaml: the speaking rate and an entry per language (checked across entries by VoiceTable)."""
    default_rate_wpm: Annotated[int, Field(ge=MIN_RATE_WPM, le=MAX_RATE_WPM)] = 150
    languages: dict[Language, VoiceEntry]


class VoiceTable:
    def __init__(self, entries: dict[str, VoiceEntry], phrasebook: Phrasebook, default_rate_wpm: int = 150):
        self._entries = entries
        self._phrasebook = phrasebook
        self.default_rate_wpm = default_rate_wpm
        _validate(entries)
        if 'read_screen' not in phrasebook.keys():
            raise ValueError('the phrasebook has no read_screen phrase, needed for screen-only languages')
        # Scripts some native voice reads; letters of any other script never reach a synthesizer.
        native_scripts = {LANGUAGE_INFO[c].script for c, e in entries.items() if e.mode != 'screen_only'}
        self.unvoiced_scripts = frozenset(
            LANGUAGE_INFO[c].script for c, e in entries.items() if e.mode == 'screen_only') - native_scripts

    @classmethod
    def load(cls, path: str | Path | None = None, phrasebook: Phrasebook | None = None) -> 'VoiceTable':
        """Read the voice table (default: the package's config/voices.yaml); ConfigError naming the
        file and the field if it is unusable."""
        if path is None:
            from caexpo_robot.paths import config_path
            path = config_path('voices.yaml')
        data = load_config(VoiceTableFile, path)
        try:
            return cls(data.languages, phrasebook or Phrasebook.load(), data.default_rate_wpm)
        except ValueError as exc:
            raise ConfigError(f'{path}: {exc}') from None

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
        # imported here: pypinyin's phrase tables are ~55 MiB resident, and the interaction node reads this
        # table (voice kinds, fallbacks) without ever speaking; the tts node imports it at start
        from caexpo_robot.speaking.pinyin import hanzi_to_pinyin
        return hanzi_to_pinyin(text)
    if transform == 'myanmar_clauses':
        return myanmar_for_speech(text)
    return text


def _has_letters_or_digits(text: str) -> bool:
    return bool(re.search(r'[^\W_]', text))


def _validate(entries: dict[str, VoiceEntry]) -> None:
    """What a single entry cannot say about itself (the file's model checked each entry)."""
    missing = [c for c in LANGUAGES if c not in entries]
    if missing:
        raise ValueError(f'voice table lacks languages {missing}')
    unknown = [c for c in entries if c not in LANGUAGES]
    if unknown:
        raise ValueError(f'voice table has unknown languages {unknown}')
    for code, e in entries.items():
        if e.mode == 'screen_only':
            target = entries.get(e.fallback_language) if e.fallback_language else None
            if target is None or target.mode != 'native':
                raise ValueError(f'{code}: screen_only needs a fallback_language with a native voice, '
                                 f'got {e.fallback_language!r}')
        elif not isinstance(e.voice, str) or not e.voice:
            raise ValueError(f'{code}: mode {e.mode} needs a voice id')
