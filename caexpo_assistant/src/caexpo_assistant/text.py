"""Text normalisation and keyword matching for the keyword router (language codes live in
caexpo_robot.language.languages, the one list of them). Both are implemented by
understanding/normalize.py, so every caller gets Vietnamese diacritic folding, traditional -> simplified
Chinese, spaces ignored in unspaced scripts and segmentation-aware word boundaries."""
from __future__ import annotations

from .understanding.normalize import matches, normalize_text, prepare

# Scripts written without spaces between words, and Korean (particles attach to the noun: 와이파이는):
# keywords in these scripts match as substrings whatever the sentence's language (in Thai, Lao, Khmer and
# Burmese only on word boundaries of the segmented text); Latin keywords match on word boundaries, so
# 'bus' never hits 'business'.
SUBSTRING_MATCH = frozenset({'th', 'my', 'km', 'lo', 'zh', 'ko'})


def normalize(text: str) -> str:
    """Lower-cased NFC text with native digits as ASCII, traditional Chinese as simplified and runs of
    spaces collapsed (diacritics are kept: folding happens inside matching)."""
    return normalize_text(text)


def contains_term(normalized_text: str, term: str, language: str) -> bool:
    """Whether a keyword occurs in (normalized) text: folded, spaces ignored where words have none,
    word boundaries where they have them (see understanding.normalize.matches)."""
    return matches(prepare(normalized_text, language), term)
