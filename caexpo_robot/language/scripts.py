"""Unicode script of text, by code-point ranges: Thai, Lao, Khmer, Myanmar, Hangul and Han each name
one of our languages outright; Latin text needs statistical language ID (langid.py).
"""
from __future__ import annotations

import unicodedata
from collections import Counter

# (first, last, script); ranges from the Unicode blocks of each script.
_RANGES = [
    (0x0041, 0x024F, 'Latin'), (0x1E00, 0x1EFF, 'Latin'), (0x2C60, 0x2C7F, 'Latin'),
    (0xA720, 0xA7FF, 'Latin'), (0xFF21, 0xFF5A, 'Latin'),
    (0x0E00, 0x0E7F, 'Thai'),
    (0x0E80, 0x0EFF, 'Lao'),
    (0x1780, 0x17FF, 'Khmer'), (0x19E0, 0x19FF, 'Khmer'),
    (0x1000, 0x109F, 'Myanmar'), (0xA9E0, 0xA9FF, 'Myanmar'), (0xAA60, 0xAA7F, 'Myanmar'),
    (0x1100, 0x11FF, 'Hangul'), (0x3130, 0x318F, 'Hangul'), (0xA960, 0xA97F, 'Hangul'),
    (0xAC00, 0xD7AF, 'Hangul'), (0xD7B0, 0xD7FF, 'Hangul'),
    (0x3400, 0x4DBF, 'Han'), (0x4E00, 0x9FFF, 'Han'), (0xF900, 0xFAFF, 'Han'), (0x20000, 0x3134F, 'Han'),
    (0x3040, 0x30FF, 'Kana'), (0x31F0, 0x31FF, 'Kana'),
    (0x0400, 0x04FF, 'Cyrillic'), (0x0600, 0x06FF, 'Arabic'), (0x0900, 0x097F, 'Devanagari'),
    (0x0370, 0x03FF, 'Greek'),
]

# Scripts that identify exactly one of our languages.
SCRIPT_LANGUAGE = {'Thai': 'th', 'Lao': 'lo', 'Khmer': 'km', 'Myanmar': 'my', 'Hangul': 'ko', 'Han': 'zh'}


def script_of(ch: str) -> str | None:
    """The script of one letter or combining mark; None for digits, punctuation, spaces."""
    if unicodedata.category(ch)[0] not in 'LM':
        return None
    cp = ord(ch)
    for first, last, script in _RANGES:
        if first <= cp <= last:
            return script
    return 'Other'


def script_counts(text: str) -> Counter:
    return Counter(s for s in map(script_of, text) if s is not None)


def dominant_script(text: str) -> tuple[str | None, float]:
    """(script with the most letters, its share of all letters); (None, 0.0) if text has no letters."""
    counts = script_counts(text)
    total = sum(counts.values())
    if not total:
        return None, 0.0
    script, n = counts.most_common(1)[0]
    return script, n / total


def script_share(text: str, script: str) -> float:
    """Share of the letters of text written in script (0.0 when text has no letters)."""
    counts = script_counts(text)
    total = sum(counts.values())
    return counts[script] / total if total else 0.0


def separate_scripts(text: str) -> str:
    """A space wherever letters of two scripts touch ("คุณNguyenครับ" -> "คุณ Nguyen ครับ").

    espeak-ng spells a Latin word glued to Thai letter by letter, naming each Thai letter too.
    """
    out: list[str] = []
    previous = None
    for ch in text:
        script = script_of(ch)
        if script is not None:
            if previous is not None and script != previous and out and not out[-1].isspace():
                out.append(' ')
            previous = script
        elif not unicodedata.category(ch).startswith('M'):
            previous = None if ch.isspace() or not ch.isalnum() else previous
        out.append(ch)
    return ''.join(out)
