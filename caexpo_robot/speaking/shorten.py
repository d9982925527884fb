"""Shortening a text that is too long to say: whole sentences up to a limit, in every script. Pure.

Sentence marks differ by script: Latin-script languages end sentences with . ! ? (followed by a space
or the end); Chinese with 。！？; Burmese with ။; Khmer with ។ and ៕; Thai and Lao have none (a space
separates sentences). So: the text is cut after the last sentence mark before the limit; failing
that (Thai, Lao, one very long sentence) at the last space or punctuation before it; failing that
(no break at all) at the limit itself.
"""
from __future__ import annotations

# Marks that end a sentence wherever they are (no space follows them in these scripts).
CLOSING_MARKS = '。！？!?;；။។៕'
# Marks that end a sentence when a space (or the end of the text) follows: "3.5" is not a sentence end.
SPACED_MARKS = '.…'
# Abbreviations whose dot ends no sentence ("Angkor Golden Rice Co., Ltd. is booked for 10:30").
ABBREVIATIONS = frozenset({'Co', 'Ltd', 'Inc', 'Corp', 'Pte', 'Bhd', 'Mr', 'Mrs', 'Dr', 'St', 'No', 'Tbk', 'PT'})
# Where a phrase may be cut when no sentence ends before the limit (Thai and Lao separate with spaces);
# a clause mark is preferred to a bare space ("..., booked for 10:30 on 17/9," not "... at booth A1 in").
CLAUSE_BREAKS = ',，、：:;；၊'
BREAKS = ' \t\n' + CLAUSE_BREAKS + ')）」』"'
# A sentence end this early would throw most of the text away: cut at a break instead.
MIN_KEEP = 0.3


def shorten(text: str, limit: int) -> str:
    """`text` if it fits in `limit` characters, else its longest head that ends a sentence (or a phrase)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[:limit]
    sentence_end = max((i + 1 for i, ch in enumerate(head) if ch in CLOSING_MARKS or (
        ch in SPACED_MARKS and (i + 1 == len(text) or text[i + 1].isspace()) and not _abbreviation(head, i))),
        default=0)
    if sentence_end >= MIN_KEEP * limit:
        return head[:sentence_end].strip()
    clause_end = max((i for i, ch in enumerate(head) if ch in CLAUSE_BREAKS), default=0)
    if clause_end >= MIN_KEEP * limit:
        return head[:clause_end + 1].strip()
    phrase_end = max((i for i, ch in enumerate(head) if ch in BREAKS), default=0)
    if phrase_end > 0:
        return head[:phrase_end + (head[phrase_end] not in ' \t\n')].strip()
    return head.strip()


def _abbreviation(text: str, i: int) -> bool:
    """Whether the dot at `i` closes an abbreviation such as "Ltd." rather than a sentence."""
    words = text[:i].split()
    return text[i] == '.' and bool(words) and words[-1].lstrip('(') in ABBREVIATIONS
