"""Text normalisation and keyword matching for the keyword router (language codes live in
caexpo_robot.language.languages, the one list of them)."""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Keywords match as substrings in scripts written without spaces between words, and in Korean
# (particles attach to the noun: 와이파이는); elsewhere on word boundaries so 'bus' never hits 'business'.
SUBSTRING_MATCH = frozenset({'th', 'my', 'km', 'lo', 'zh', 'ko'})

_DIGITS = {}
for _cp in range(0x0660, 0x1100):
    _ch = chr(_cp)
    if unicodedata.category(_ch) == 'Nd':
        _DIGITS[_cp] = str(unicodedata.digit(_ch))
_DIGITS.update({cp: str(unicodedata.digit(chr(cp))) for cp in range(0x17E0, 0x17EA)})  # Khmer
_DIGITS.update({cp: str(unicodedata.digit(chr(cp))) for cp in range(0xFF10, 0xFF1A)})  # full-width
_DIGITS[0xFF1A] = ':'  # full-width colon as typed in Chinese times (１４：３０)

_SPACES = re.compile(r'\s+')


def normalize(text: str) -> str:
    """Lower-cased NFC text with native digits turned into ASCII and runs of spaces collapsed."""
    text = unicodedata.normalize('NFC', text).translate(_DIGITS).casefold()
    return _SPACES.sub(' ', text).strip()


def contains_term(normalized_text: str, term: str, language: str) -> bool:
    """Whether a keyword occurs in normalized text, respecting word boundaries where words have them."""
    needle, pattern = _compiled(term, language in SUBSTRING_MATCH)
    if not needle:
        return False
    if pattern is None:
        return needle in normalized_text
    return needle in normalized_text and pattern.search(normalized_text) is not None


@lru_cache(maxsize=65536)
def _compiled(term: str, substring: bool) -> tuple[str, re.Pattern | None]:
    # Routing scans every keyword of every function per turn: normalise and compile each term once.
    needle = normalize(term)
    if substring or not needle.isascii() and _mostly_unspaced_script(needle):
        return needle, None
    return needle, re.compile(r'(?<!\w)' + re.escape(needle) + r'(?!\w)')


def _mostly_unspaced_script(term: str) -> bool:
    # Chinese/Thai/Burmese/Khmer/Lao product names may appear inside a sentence in any language.
    return any(0x0E00 <= ord(c) <= 0x0EFF or 0x1000 <= ord(c) <= 0x109F or 0x1780 <= ord(c) <= 0x17FF
               or 0x4E00 <= ord(c) <= 0x9FFF or 0xAC00 <= ord(c) <= 0xD7AF for c in term)
