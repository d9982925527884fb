"""The last touch on every reply after its template is filled: Korean particles and tidy punctuation.

Korean templates write both forms of a particle whose shape depends on the word before it
(`{place}은(는)`, `이(가)`, `을(를)`, `와(과)`, `(으)로`, `(이)에요`, `(이)나`), because the
word is only known once the template is filled. `finish` keeps the one form that fits the final
sound of that word: 기도실은, 푸드코트는, 출입구로, 식당으로, 서울로 (after ㄹ, 로), LionSat과.
Spoken aloud by espeak-ng, "기도실은(는)" would be read as "기도실은 는"; on a screen it looks
machine-made.

The word's final sound: a Hangul syllable's final consonant (jongseong); a digit as read in Korean
(1 일, 2 이, 3 삼, 6 육, 7 칠, 8 팔, 0 영 / 10 십 / 100 백 ...); an English word or initialism by
its usual Korean reading where a simple rule knows it (initialisms by letter names: TCL 티씨엘 ->
ㄹ; words ending in m, n, ng -> final consonant; in l -> ㄹ; in a short vowel + k, t, p -> final
consonant: iFlytek 텍, LionSat 샛, Shop 숍); anything else takes the form for a vowel-final word.
A parenthesis right before the particle is skipped: "A 출입구 (남쪽 광장)(으)로" -> "... 광장)로"
is decided by 출입구.

Every language: a placeholder filled with an empty value leaves no doubled space, no space before
a punctuation mark, no dangling comma before a full stop, and no empty brackets.
"""
from __future__ import annotations

import re

# particle pattern -> (form after a vowel, after a final consonant, after ㄹ), indexed by final_sound()
_PARTICLES = {
    '은(는)': ('는', '은', '은'),
    '이(가)': ('가', '이', '이'),
    '을(를)': ('를', '을', '을'),
    '와(과)': ('와', '과', '과'),
    '(으)로': ('로', '으로', '로'),
    '(이)에요': ('예요', '이에요', '이에요'),
    '(이)나': ('나', '이나', '이나'),
}
_PARTICLE = re.compile('|'.join(re.escape(p) for p in sorted(_PARTICLES, key=len, reverse=True)))

_VOWEL, _CONSONANT, _RIEUL = 0, 1, 2                 # kinds of final sound
_DIGIT = {'0': _CONSONANT, '1': _RIEUL, '2': _VOWEL, '3': _CONSONANT, '4': _VOWEL, '5': _VOWEL,
          '6': _CONSONANT, '7': _RIEUL, '8': _RIEUL, '9': _VOWEL}   # 영 일 이 삼 사 오 육 칠 팔 구
_LETTER = {'L': _RIEUL, 'R': _RIEUL, 'M': _CONSONANT, 'N': _CONSONANT}  # 엘 알 엠 엔; the rest end in a vowel
_CLOSERS = {')': '(', '）': '（', ']': '[', '】': '【'}
_QUOTES = '"\'”’」』»'

_WEAK = ',;:，；：、၊៖'           # marks that only separate
_STRONG = '.!?。！？။។'            # marks that end a sentence
_MARKS = _WEAK + _STRONG
_EMPTY_BRACKETS = re.compile(r'\(\s*\)|（\s*）|\[\s*\]')
_SPACES = re.compile(r'[ \t\u00a0]{2,}')
_SPACE_BEFORE_MARK = re.compile(rf'[ \t\u00a0]+(?=[{re.escape(_MARKS)}])')
_WEAK_BEFORE_MARK = re.compile(rf'[{re.escape(_WEAK)}][ \t\u00a0]*(?=[{re.escape(_MARKS)}])')
_REPEATED = re.compile(rf'([{re.escape(_MARKS.replace(".", ""))}])\1+|(?<!\.)\.\.(?!\.)')
_LEADING = re.compile(rf'^[\s{re.escape(_WEAK)}]+')


def finish(language: str, text: str) -> str:
    """`text` (a filled reply template in `language`) with Korean particles resolved and tidy spacing."""
    if language == 'ko' and '(' in text:
        text = _korean_particles(text)
    return tidy(text)


def tidy(text: str) -> str:
    """Remove what empty placeholders leave behind: "A,  ." -> "A.", "X ()" -> "X"."""
    text = _EMPTY_BRACKETS.sub('', text)
    text = _SPACES.sub(' ', text)
    text = _SPACE_BEFORE_MARK.sub('', text)
    text = _WEAK_BEFORE_MARK.sub('', text)
    text = _REPEATED.sub(lambda m: m.group(1) or '.', text)
    return _LEADING.sub('', text).rstrip()


def _korean_particles(text: str) -> str:
    out, last = [], 0
    for match in _PARTICLE.finditer(text):
        before = text[:match.start()]
        forms = _PARTICLES[match.group()]
        out.append(text[last:match.start()])
        out.append(forms[final_sound(before)])
        last = match.end()
    out.append(text[last:])
    return ''.join(out)


def final_sound(before: str) -> int:
    """0 (vowel), 1 (a final consonant other than ㄹ) or 2 (ㄹ) for the word ending `before`."""
    end = _word_end(before)
    if end < 0:
        return _VOWEL
    char = before[end]
    if '가' <= char <= '힣':
        jong = (ord(char) - 0xAC00) % 28
        return _VOWEL if jong == 0 else _RIEUL if jong == 8 else _CONSONANT
    if char.isascii() and char.isdigit():
        return _number_sound(before[:end + 1])
    if char.isascii() and char.isalpha():
        start = end
        while start > 0 and before[start - 1].isascii() and before[start - 1].isalpha():
            start -= 1
        return _english_sound(before[start:end + 1])
    return _VOWEL


def _word_end(text: str) -> int:
    """Index of the last character of the word a particle attaches to (skipping a parenthesis, quotes)."""
    i = len(text) - 1
    while i >= 0:
        char = text[i]
        if char in _QUOTES or char.isspace():
            i -= 1
        elif char in _CLOSERS:
            depth, opener = 0, _CLOSERS[char]
            while i >= 0:
                depth += (text[i] == char) - (text[i] == opener)
                i -= 1
                if depth == 0:
                    break
        else:
            return i
    return -1


def _number_sound(text: str) -> int:
    digits = re.search(r'[\d,]*$', text).group().replace(',', '')
    if digits.strip('0') and digits.endswith('0'):
        return _CONSONANT                          # 십 백 천 만: all end in a consonant other than ㄹ
    return _DIGIT[digits[-1]]


def _english_sound(word: str) -> int:
    if len(word) == 1 or word.isupper():
        return _LETTER.get(word[-1].upper(), _VOWEL)   # initialisms by letter names: AI 에이아이, TCL 티씨엘
    w = word.lower()
    if w.endswith(('m', 'n', 'ng', 'me', 'ne')):
        return _CONSONANT                          # Zoom 줌, Station 스테이션, Zone 존
    if w.endswith(('l', 'le')):
        return _RIEUL                              # Hotel 호텔, Apple 애플
    vowels = 'aeiou'
    if len(w) >= 2 and w[-1] in 'ktp' and w[-2] in vowels and (len(w) == 2 or w[-3] not in vowels):
        return _CONSONANT                          # iFlytek 텍, LionSat 샛, Shop 숍; not Cloud, Boot
    if w.endswith('ck'):
        return _CONSONANT                          # Black 블랙
    return _VOWEL
