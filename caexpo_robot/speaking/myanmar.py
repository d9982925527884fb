"""Burmese text shaped so espeak-ng 1.51 can read it without crashing.

espeak-ng 1.51 aborts ("*** buffer overflow detected ***", SIGABRT) on some long Burmese clauses: 53 of
256 two-phrase combinations of our phrasebook crashed it. Burmese writes no spaces between words and
espeak-ng does not treat ၊ ။ as clause ends, so clauses grow long. Cutting clauses to at most
MAX_CLAUSE_SYLLABLES syllables (at the writer's spaces where possible) made all 256 read cleanly.
"""
from __future__ import annotations

import re

MAX_CLAUSE_SYLLABLES = 10
# A syllable starts at a consonant, independent vowel or digit that is not killed by asat (U+103A)
# or stacked by virama (U+1039), and does not follow a virama.
_SYLLABLE_START = re.compile(r'(?<!\u1039)(?=[\u1000-\u102A\u103F\u1040-\u1049](?![\u103A\u1039]))')
_CLAUSE_END = re.compile(r'\s*([၊။,.!?;:])\s*')


def syllables(phrase: str) -> list[str]:
    return _SYLLABLE_START.sub(' ', phrase).split()


def myanmar_for_speech(text: str, max_syllables: int = MAX_CLAUSE_SYLLABLES) -> str:
    """Burmese punctuation to ASCII clause marks, and no clause longer than max_syllables."""
    text = text.replace('၊', ',').replace('။', '.')
    pieces = _CLAUSE_END.split(text)
    out = []
    for i, piece in enumerate(pieces):
        if i % 2:                       # a clause mark captured by the split
            out.append(piece + ' ')
            continue
        out.append(_cut_clause(piece, max_syllables))
    return ' '.join(''.join(out).split()).strip()


def _cut_clause(clause: str, max_syllables: int) -> str:
    """Join the writer's phrases while they fit; cut over-long phrases between syllables."""
    chunks: list[list[str]] = [[]]     # each chunk: phrases (or phrase pieces) said without a pause
    count = 0
    for phrase in clause.split():
        parts = syllables(phrase) or [phrase]
        if count + len(parts) > max_syllables and chunks[-1]:
            chunks.append([])
            count = 0
        while len(parts) > max_syllables:
            chunks[-1].append(''.join(parts[:max_syllables]))
            chunks.append([])
            parts = parts[max_syllables:]
        chunks[-1].append(''.join(parts))
        count += len(parts)
    return ', '.join(' '.join(c) for c in chunks if c)
