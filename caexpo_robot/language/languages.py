"""The languages the robot serves: the single source of truth for codes, names and scripts.

Codes are the ones used everywhere in the package (config files, topics, events). `fil` is
Filipino (Tagalog-based); language-ID libraries call it `tl`.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LanguageInfo:
    code: str
    english_name: str
    native_name: str
    script: str          # the Unicode script its text is written in (see scripts.py)


# Ordered: the ASEAN host-region languages first, then Chinese, English and Korean.
_INFO = [
    LanguageInfo('vi', 'Vietnamese', 'Tiếng Việt', 'Latin'),
    LanguageInfo('th', 'Thai', 'ภาษาไทย', 'Thai'),
    LanguageInfo('ms', 'Malay', 'Bahasa Melayu', 'Latin'),
    LanguageInfo('id', 'Indonesian', 'Bahasa Indonesia', 'Latin'),
    LanguageInfo('fil', 'Filipino', 'Filipino', 'Latin'),
    LanguageInfo('my', 'Burmese', 'မြန်မာဘာသာ', 'Myanmar'),
    LanguageInfo('km', 'Khmer', 'ភាសាខ្មែរ', 'Khmer'),
    LanguageInfo('lo', 'Lao', 'ພາສາລາວ', 'Lao'),
    LanguageInfo('zh', 'Chinese (Mandarin)', '中文', 'Han'),
    LanguageInfo('en', 'English', 'English', 'Latin'),
    LanguageInfo('ko', 'Korean', '한국어', 'Hangul'),
]

LANGUAGES: tuple[str, ...] = tuple(info.code for info in _INFO)
LANGUAGE_INFO: dict[str, LanguageInfo] = {info.code: info for info in _INFO}
FALLBACK_LANGUAGE = 'en'


def language_info(code: str) -> LanguageInfo:
    """Metadata for one of LANGUAGES; ValueError naming the known codes otherwise."""
    try:
        return LANGUAGE_INFO[code]
    except (KeyError, TypeError):
        raise ValueError(
            f'unknown language code {code!r}; known codes: {", ".join(LANGUAGES)}') from None
