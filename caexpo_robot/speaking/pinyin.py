"""Hanzi to tone-numbered pinyin for espeak-ng's cmn-latn-pinyin voice.

espeak-ng's plain `cmn` voice reads the tone digits of pinyin aloud as English numbers;
`cmn-latn-pinyin` reads "ni3 hao3" as two toned syllables and the neutral tone written as 5.
pypinyin picks readings by phrase (银行 yin2 hang2, 行走 xing2 zou3) and applies the 不 and 3-3 sandhi.
"""
from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

# Full-width and CJK punctuation -> ASCII, so espeak-ng pauses where a reader would.
_PUNCT = str.maketrans({
    '，': ', ', '、': ', ', '。': '. ', '．': '.', '！': '! ', '？': '? ', '：': ': ', '；': '; ',
    '（': '(', '）': ')', '“': '"', '”': '"', '‘': "'", '’': "'", '《': '"', '》': '"',
    '—': ', ', '–': ', ', '…': '...', '～': ' ', '·': ' ', '　': ' ',
})


def hanzi_to_pinyin(text: str) -> str:
    """'您好，欢迎！' -> 'nin2 hao3, huan1 ying2!'; non-Han text (digits, Latin) passes through."""
    pieces = lazy_pinyin(text, style=Style.TONE3, neutral_tone_with_five=True, errors='default',
                         tone_sandhi=True)
    out = ' '.join(p.translate(_PUNCT) for p in pieces)
    out = re.sub(r'\s+([,.!?:;)])', r'\1', out)     # no space before punctuation
    out = re.sub(r'([,.!?;]|:(?!\d))(?=[^\W\d])', r'\1 ', out)  # a space after it (not in 10:30)
    return ' '.join(out.split())
