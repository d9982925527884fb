"""The 11 visitor languages and the text normalisation the keyword router relies on.

Kept inside this package on purpose: the assistant server must run on a machine that has
none of the robot's speech stack installed.
"""
from __future__ import annotations

import re
import unicodedata

LANGUAGES: tuple[str, ...] = ('vi', 'th', 'ms', 'id', 'fil', 'my', 'km', 'lo', 'zh', 'en', 'ko')

# Scripts written without spaces between words: keywords match as substrings there,
# while space-separated languages match on word boundaries (so 'map' never hits 'mapping').
UNSPACED = frozenset({'th', 'my', 'km', 'lo', 'zh'})

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
    """Whether a normalized keyword occurs in normalized text, respecting word boundaries where words have them."""
    term = normalize(term)
    if not term:
        return False
    if language in UNSPACED or not term.isascii() and _mostly_unspaced_script(term):
        return term in normalized_text
    return re.search(r'(?<!\w)' + re.escape(term) + r'(?!\w)', normalized_text) is not None


def _mostly_unspaced_script(term: str) -> bool:
    # Chinese/Thai/Burmese/Khmer/Lao product names may appear inside a sentence in any language.
    return any(0x0E00 <= ord(c) <= 0x0EFF or 0x1000 <= ord(c) <= 0x109F or 0x1780 <= ord(c) <= 0x17FF
               or 0x4E00 <= ord(c) <= 0x9FFF for c in term)
