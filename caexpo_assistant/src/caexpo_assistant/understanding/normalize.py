"""Normalisation before any matching, and the one term matcher used everywhere.

`prepare(text, language)` gives every form matching needs (cached per (text, language)):
- `text`: NFC, casefolded, native digits as ASCII, traditional Chinese as simplified (OpenCC, Taiwan
  phrases included: 人工智慧 -> 人工智能, 榴槤 -> 榴莲, 網路安全 -> 网络安全), spaces collapsed;
- `folded`: `text` with the diacritics of Latin letters removed (đ -> d, ơ -> o, é -> e), other scripts
  untouched (Thai, Khmer, Burmese vowel signs and Hangul are letters, not accents);
- `compact`: `folded` without spaces, for scripts written without spaces between words (and Korean,
  whose particles attach to nouns and whose spacing varies);
- `tokens` (lazy): words; Thai (PyThaiNLP newmm), Lao (LaoNLP) and Khmer (khmer-nltk) runs segmented
  into words, Burmese runs broken into syllables. Each segmenter is imported on first use only.

`matches(prepared, term)`: Latin terms match the folded text on word boundaries ("bus" never hits
"business"; "nha ve sinh" matches "nhà vệ sinh" and vice versa; accents typed on both sides must agree:
"vé" is not "vệ"). Terms in Han, Hangul, Thai, Lao, Khmer
or Myanmar script match the compact text as substrings in any language's sentence, except that in
Thai, Lao, Khmer and Burmese a match must start and end on a word (Burmese: syllable) boundary of the
segmented text: Khmer "បាត់" (lost) does not match inside "បាត់ដំបង" (Battambang), Thai "ปิดกี่โมง" (closes
when) not inside "เปิดกี่โมง" (opens when), Lao "ບັດ" (badge) not inside "ແບັດ" (battery). Compounds the
segmenter keeps whole may be cut after their head (Thai, Lao: "หิว" in "หิวข้าว", not "น้ำ" in "ห้องน้ำ"), after
a noun-making prefix ("ส่งออก" in "ผู้ส่งออก") or at a glued particle (Khmer "ណាត់ជួប" in "ការណាត់ជួប", "មេត្រូ" in "មេត្រូជិត").

`fuzzy_contains(prepared, name)`: typo-tolerant name matching (rapidfuzz) for Latin names of at least
5 letters ("huawai", "alibaba clould", "musang kng").
"""
from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Callable

# -- digits -------------------------------------------------------------------------------------------
_DIGITS = {}
for _cp in range(0x0660, 0x1100):           # Arabic-Indic .. Myanmar (Thai, Lao, Burmese included)
    _ch = chr(_cp)
    if unicodedata.category(_ch) == 'Nd':
        _DIGITS[_cp] = str(unicodedata.digit(_ch))
_DIGITS.update({cp: str(unicodedata.digit(chr(cp))) for cp in range(0x17E0, 0x17EA)})  # Khmer
_DIGITS.update({cp: str(unicodedata.digit(chr(cp))) for cp in range(0xFF10, 0xFF1A)})  # full-width
_DIGITS[0xFF1A] = ':'  # full-width colon as typed in Chinese times (１４：３０)

_SPACES = re.compile(r'\s+')

# -- scripts --------------------------------------------------------------------------------------------
# Scripts written without spaces between words, whose matches are checked against word segmentation.
SEGMENTED_SCRIPTS = ('th', 'lo', 'km', 'my')


def _script(ch: str) -> str | None:
    """'th' 'lo' 'km' 'my' 'han' 'hangul' for the unspaced scripts (and Korean), else None."""
    cp = ord(ch)
    if 0x0E00 <= cp <= 0x0E7F:
        return 'th'
    if 0x0E80 <= cp <= 0x0EFF:
        return 'lo'
    if 0x1780 <= cp <= 0x17FF or 0x19E0 <= cp <= 0x19FF:
        return 'km'
    if 0x1000 <= cp <= 0x109F or 0xA9E0 <= cp <= 0xA9FF or 0xAA60 <= cp <= 0xAA7F:
        return 'my'
    if 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF or 0x20000 <= cp <= 0x2FA1F:
        return 'han'
    if 0xAC00 <= cp <= 0xD7AF or 0x1100 <= cp <= 0x11FF or 0x3130 <= cp <= 0x318F:
        return 'hangul'
    return None


def _is_latin_or_digit(ch: str) -> bool:
    """Letters and digits that, side by side, make one Latin word (the word-boundary test)."""
    cp = ord(ch)
    return ch.isascii() and ch.isalnum() or (0x00C0 <= cp <= 0x024F or 0x1E00 <= cp <= 0x1EFF) and ch.isalpha()


# -- traditional -> simplified Chinese ------------------------------------------------------------------
_OPENCC = None
_OPENCC_LOCK = threading.Lock()


def _to_simplified(text: str) -> str:
    # 'tw2sp' = t2s characters plus Taiwan phrases (人工智慧 -> 人工智能, 網路 -> 网络, 榴槤 -> 榴莲), which
    # plain 't2s' leaves alone. It also maps a few mainland words (智慧 -> 智能, 程序 -> 进程); harmless for
    # matching because terms and texts go through the same conversion.
    global _OPENCC
    if _OPENCC is None:
        with _OPENCC_LOCK:
            if _OPENCC is None:
                import opencc
                _OPENCC = opencc.OpenCC('tw2sp')
    return _OPENCC.convert(text)


def normalize_text(text: str) -> str:
    """NFC, casefolded, native digits as ASCII, traditional Chinese as simplified, spaces collapsed."""
    text = unicodedata.normalize('NFC', text).translate(_DIGITS).casefold()
    if any(_script(c) == 'han' for c in text):
        text = _to_simplified(text)
    return _SPACES.sub(' ', text).strip()


# -- Latin diacritic folding ----------------------------------------------------------------------------
_FOLD_EXTRA = {'đ': 'd', 'ð': 'd', 'ø': 'o', 'ł': 'l', 'ħ': 'h', 'ı': 'i', 'æ': 'ae', 'œ': 'oe', 'ŧ': 't'}


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    cp = ord(ch)
    if 0x0300 <= cp <= 0x036F:        # a stray combining accent (one NFC could not compose)
        return ''
    if not (0x00C0 <= cp <= 0x024F or 0x1E00 <= cp <= 0x1EFF):
        return ch
    if ch in _FOLD_EXTRA:
        return _FOLD_EXTRA[ch]
    return ''.join(c for c in unicodedata.normalize('NFD', ch) if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Latin letters without diacritics (nhà vệ sinh -> nha ve sinh, đâu -> dau); other scripts untouched."""
    if text.isascii():
        return text
    return ''.join(_fold_char(c) for c in text)


# -- segmenters (lazy) ----------------------------------------------------------------------------------
_SEGMENTERS: dict[str, Callable[[str], list[str]]] = {}
_SEGMENTER_LOCK = threading.Lock()

# Burmese syllable breaking (the rule of Ye Kyaw Thu's sylbreak): a syllable starts at a consonant that
# is neither stacked under the one before (after ္) nor killed (followed by ် or ္), at an independent
# vowel, a digit or a symbol.
_MY_BREAK = re.compile(r'(?<!\u1039)[\u1000-\u1021](?![\u103A\u1039])'
                       r'|[\u1023-\u102A\u103F\u1040-\u104F]')


def _burmese_syllables(run: str) -> list[str]:
    starts = sorted({0, *(m.start() for m in _MY_BREAK.finditer(run))})
    return [run[a:b] for a, b in zip(starts, starts[1:] + [len(run)], strict=True) if a < b]


def _load_segmenter(script: str) -> Callable[[str], list[str]]:
    if script == 'th':
        from pythainlp.tokenize import word_tokenize as thai
        return lambda run: thai(run, engine='newmm', keep_whitespace=False)
    if script == 'lo':
        from laonlp.tokenize import word_tokenize as lao
        return lao
    if script == 'km':
        import logging
        logging.getLogger('khmer-nltk').setLevel(logging.WARNING)   # it logs its model path at INFO
        from khmernltk import word_tokenize as khmer
        logging.getLogger('khmer-nltk').setLevel(logging.WARNING)   # ... and again: importing it sets INFO
        return khmer
    return _burmese_syllables


def segmenter(script: str) -> Callable[[str], list[str]]:
    """The word (Burmese: syllable) segmenter of 'th', 'lo', 'km' or 'my', imported on first use."""
    seg = _SEGMENTERS.get(script)
    if seg is None:
        with _SEGMENTER_LOCK:
            seg = _SEGMENTERS.get(script)
            if seg is None:
                seg = _SEGMENTERS[script] = _load_segmenter(script)
    return seg


def warm_up() -> None:
    """Load every segmenter and dictionary now (about 2 s) rather than in a visitor's turn: a first Khmer
    sentence would otherwise hold the interpreter for a second and every other turn with it."""
    for script in ('th', 'lo', 'km', 'my'):
        segmenter(script)
    for script in ('th', 'lo'):
        _dictionary(script)
    normalize_text('測試')


def _segment(run: str, script: str) -> list[str]:
    """Words of one run of a segmented script; the pieces always add up to the run."""
    words = [w for w in segmenter(script)(run) if w]
    if ''.join(words) != run:        # a segmenter that dropped or changed characters: trust only the run
        return [run]
    return words


def _runs(chunk: str) -> list[tuple[str, str | None]]:
    """A space-free chunk cut into runs of one segmented script (th lo km my) or of anything else."""
    runs: list[tuple[str, str | None]] = []
    for ch in chunk:
        s = _script(ch)
        s = s if s in SEGMENTED_SCRIPTS else None
        if runs and runs[-1][1] == s:
            runs[-1] = (runs[-1][0] + ch, s)
        else:
            runs.append((ch, s))
    return runs


# -- prepared text --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prepared:
    """A text (or a term) in every form matching needs; build it with prepare()."""
    language: str
    text: str          # normalize_text(raw)
    folded: str        # text with Latin diacritics removed
    compact: str       # folded without spaces
    starts: tuple[int, ...]   # compact index -> folded index (one more entry: len(folded))

    @cached_property
    def tokens(self) -> tuple[str, ...]:
        """Words of the folded text; th/lo/km runs segmented into words, Burmese into syllables."""
        out: list[str] = []
        for chunk in self.folded.split(' '):
            for run, script in _runs(chunk):
                out.extend(_segment(run, script) if script else [run])
        return tuple(w for w in out if w)

    @cached_property
    def mid_word(self) -> dict[int, tuple[str, int, str]]:
        """Folded-text positions inside a segmented-script word -> (that word, offset in it, script)."""
        inside: dict[int, tuple[str, int, str]] = {}
        pos = 0
        for chunk in self.folded.split(' '):
            for run, script in _runs(chunk):
                if script:
                    at = pos
                    for word in _segment(run, script):
                        inside.update((at + k, (word, k, script)) for k in range(1, len(word)))
                        at += len(word)
                pos += len(run)
            pos += 1
        return inside


@lru_cache(maxsize=8192)
def prepare(text: str, language: str = '') -> Prepared:
    """Every matching form of text (a visitor's question or a term) in language (cached)."""
    norm = normalize_text(text)
    folded = fold(norm)
    keep = [i for i, c in enumerate(folded) if c != ' ']
    return Prepared(language, norm, folded, ''.join(folded[i] for i in keep), tuple(keep) + (len(folded),))


@lru_cache(maxsize=4096)
def _marks(ch: str) -> frozenset[str]:
    if ch in _FOLD_EXTRA:
        return frozenset({'stroke'})
    return frozenset(c for c in unicodedata.normalize('NFD', ch) if unicodedata.combining(c))


def _accents_agree(text: str, term: str) -> bool:
    """Whether diacritics present on both sides agree: each letter's marks are a subset of the other's.

    Unaccented typing matches anything ("ve" ~ "vé" ~ "vệ"), partial typing its full form ("vê" ~ "vệ"),
    but two different accents do not: "vé" (ticket) is not "vệ" (as in vệ tinh, satellite).
    """
    for a, b in zip(text, term, strict=True):
        if a != b:
            ma, mb = _marks(a), _marks(b)
            if not (ma <= mb or mb <= ma):
                return False
    return True


@dataclass(frozen=True)
class _Term:
    text: str
    folded: str
    compact: str
    unspaced: bool             # written in Han, Hangul, Thai, Lao, Khmer or Myanmar script
    pattern: re.Pattern | None


@lru_cache(maxsize=65536)
def _term(term: str) -> _Term:
    # Routing scans every keyword of every function per turn: each term is prepared once.
    p = prepare(term)
    unspaced = any(_script(c) for c in p.compact)
    pattern = None
    if not unspaced and p.folded:
        latin = r'0-9a-z\u00c0-\u024f\u1e00-\u1eff'
        pattern = re.compile(rf'(?<![{latin}]){re.escape(p.folded)}(?![{latin}])')
    return _Term(p.text, p.folded, p.compact, unspaced, pattern)


def matches(prepared: Prepared, term: str) -> bool:
    """Whether term occurs in the prepared text (see the module's docstring for the rules)."""
    t = _term(term)
    if not t.compact:
        return False
    if not t.unspaced:
        if t.folded not in prepared.folded:
            return False
        aligned = len(prepared.text) == len(prepared.folded) and len(t.text) == len(t.folded)
        for m in t.pattern.finditer(prepared.folded):
            if not aligned or _accents_agree(prepared.text[m.start():m.end()], t.text):
                return True
        return False
    text, starts = prepared.compact, prepared.starts
    at = text.find(t.compact)
    while at >= 0:
        if _fits(prepared, t.compact, starts[at], starts[at + len(t.compact) - 1] + 1):
            return True
        at = text.find(t.compact, at + 1)
    return False


def _fits(prepared: Prepared, term: str, start: int, end: int) -> bool:
    """Whether a compact match spanning folded[start:end] respects Latin words, numbers and segmentation."""
    folded = prepared.folded
    if start > 0 and _is_latin_or_digit(term[0]) and _is_latin_or_digit(folded[start - 1]):
        return False              # "5号馆" is not in "15号馆", "ai展区" is not in "thai展区"
    if end < len(folded) and _is_latin_or_digit(term[-1]) and _is_latin_or_digit(folded[end]):
        return False
    segmented = (start < len(folded) and _script(folded[start]) in SEGMENTED_SCRIPTS
                 or end > 0 and _script(folded[end - 1]) in SEGMENTED_SCRIPTS)
    if not segmented:
        return True               # Han and Hangul: substring
    mid = prepared.mid_word
    return (start not in mid or _compound_cut(*mid[start], outside='left')) and \
        (end not in mid or _compound_cut(*mid[end], outside='right'))


# Khmer prefixes that make nouns of verbs (ការណាត់ជួប "the meeting", អ្នកនាំចេញ "exporter"), and
# particles and function words that the statistical segmenter often glues to the word beside them
# (មេត្រូជិត, រកគ្រូពេទ្យ, ជាបន្ទាន់, ...បាទ): a term may start after the former, and end or start where
# one of the latter is all that remains of the word.
KHMER_PREFIXES = frozenset({'ការ', 'សេចក្តី', 'សេចក្ដី', 'ភាព', 'អ្នក'})
KHMER_GLUED = frozenset('ជា នៅ ពី ទៅ មក រក និង ទេ បាទ ចាស ណា ខ្លះ ជិត ហើយ ផង នេះ នោះ សូម ទុក'.split())


# Thai and Lao prefixes that make nouns (การ ความ ຄວາມ ການ) and agents (ผู้ นัก ຜູ້ ນັກ): ผู้ส่งออก "exporter".
TAI_PREFIXES = frozenset({'การ', 'ความ', 'ผู้', 'นัก', 'ການ', 'ຄວາມ', 'ຜູ້', 'ນັກ'})


@lru_cache(maxsize=4096)
def _compound_cut(word: str, at: int, script: str, outside: str) -> bool:
    """Whether word may be cut at offset `at` although the segmenter kept it whole; `outside` is the
    side of the cut ('left' or 'right') that is not part of the matched term.

    Thai and Lao compounds put the head first (หิว|ข้าว, ที่ไหน|บ้าง, กระเป๋า|เดินทาง): a term may cover the
    head when both sides are dictionary words, but not the modifier alone (น้ำ is not in ห้องน้ำ), and
    never a piece of a word (ปิด is not in เปิด, ບັດ is not in ແບັດ); it may start after a noun-making
    prefix (ส่งออก in ผู้ส่งออก). Khmer (a statistical segmenter, no dictionary): after a nominalising
    prefix or where only a glued particle remains, never otherwise (បាត់|ដំបង). Burmese: never.
    """
    left, right = word[:at], word[at:]
    rest = left if outside == 'left' else right
    if script == 'km':
        return rest in KHMER_GLUED or outside == 'left' and rest in KHMER_PREFIXES
    if script not in ('th', 'lo'):
        return False
    if outside == 'left':
        return rest in TAI_PREFIXES
    words = _dictionary(script)
    return all(w in words for piece in (left, right) for w in _segment(piece, script))


@lru_cache(maxsize=2)
def _dictionary(script: str) -> frozenset[str]:
    if script == 'th':
        from pythainlp.corpus import thai_words
        return frozenset(thai_words())
    from laonlp.corpus import lao_words
    return frozenset(lao_words())


# -- typo-tolerant names --------------------------------------------------------------------------------
FUZZY_MIN_LENGTH = 5
FUZZY_MIN_SCORE = 80.0
_LATIN_WORD = re.compile(r'[0-9a-z\u00c0-\u024f\u1e00-\u1eff]+')


def fuzzy_contains(prepared: Prepared, name: str, min_score: float = FUZZY_MIN_SCORE) -> float:
    """How well a Latin-script name (>= 5 letters) occurs in the text despite typos: 0.0 (no) .. 100.0.

    The score is the optimal-string-alignment similarity (rapidfuzz OSA: one typo = one insertion,
    deletion, substitution or swap of neighbours) between the folded name and the best window of as
    many of the text's words ("musang kng"); a window of one word fewer or more counts only when it is
    the name spaced differently, without typos ("alibabacloud", "hua wei").
    80 allows one typo in 5-9 letters, two in 10-14. The first letter must be right: visitors rarely
    mistype it, and it keeps short everyday words from looking like names.
    """
    n = _term(name)
    latin = ''.join(_LATIN_WORD.findall(n.compact))
    if n.unspaced or len(latin) < FUZZY_MIN_LENGTH or not any(c.isalpha() for c in latin):
        return 0.0
    if matches(prepared, name):
        return 100.0
    from rapidfuzz.distance import OSA
    words = _LATIN_WORD.findall(prepared.folded)
    name_words = _LATIN_WORD.findall(n.folded)          # punctuation aside: "Qi'anxin", "Co., Ltd."
    wanted, joined, size = ' '.join(name_words), ''.join(name_words), len(name_words)
    best = 0.0
    for width in {max(1, size - 1), size, size + 1}:
        for i in range(len(words) - width + 1):
            window = ' '.join(words[i:i + width])
            if window[0] != wanted[0] or abs(len(window) - len(wanted)) > 3:
                continue
            if width == size:
                best = max(best, OSA.normalized_similarity(wanted, window) * 100.0)
            elif window.replace(' ', '') == joined:
                best = 100.0    # spaced differently ("alibabacloud", "hua wei") but not mistyped too:
                                # "ang ko" (Filipino) must not pass for "angkor"
    return round(best, 1) if best >= min_score else 0.0
