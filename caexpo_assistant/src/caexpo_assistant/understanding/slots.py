"""Dialogue slots in the eleven languages: the day, the time, a choice in a list, yes/no and the visitor's name.

Pure functions of the raw visitor text (no I/O, data in this module). Every function first reads the text
through one character-wise normalisation that keeps a map back to the text as written, so a name comes back
with its own case and diacritics:
- NFC, casefold, native digits (Thai ๐-๙, Lao ໐-໙, Khmer ០-៩, Burmese ၀-၉) and full-width forms as ASCII;
- Latin diacritics folded (Vietnamese typed without accents matches: "thu sau" = "thứ sáu"); the patterns
  below are written with their accents and folded the same way when compiled;
- traditional Chinese characters as simplified (OpenCC t2s, one character at a time, so the map stays 1:1);
- spaces between two characters of a script written without spaces (Thai, Lao, Khmer, Burmese, Chinese)
  dropped, so "วัน ศุกร์" and "วันศุกร์" read the same (yes/no keeps them: a space ends a word there).

Each language's own words are tried first, then the English ones (visitors code-mix: "ok", "2pm", "Friday").
"""
from __future__ import annotations

import datetime as dt
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

LANGUAGES = ('vi', 'th', 'ms', 'id', 'fil', 'my', 'km', 'lo', 'zh', 'en', 'ko')

# ================================================================================================
# normalisation with a map back to the text as written
# ================================================================================================
_DIGITS: dict[int, str] = {}
for _base in (0x0E50, 0x0ED0, 0x17E0, 0x1040, 0x1090, 0xFF10, 0x0660, 0x06F0, 0x0966):
    for _i in range(10):
        _DIGITS[_base + _i] = str(_i)
_FOLD_EXTRA = {'đ': 'd', 'ð': 'd', 'ø': 'o', 'ł': 'l', 'ı': 'i'}
# Thai and Lao "am" vowels typed as nikhahit + aa (two code points NFC does not join)
_PAIRS = {'\u0e4d\u0e32': '\u0e33', '\u0ecd\u0eb2': '\u0eb3'}
_PUNCT_WIDE = {'：': ':', '，': ',', '。': '.', '？': '?', '！': '!', '、': ',', '；': ';', '（': '(', '）': ')',
               '\u00a0': ' ', '\u200b': '', '\u200c': '', '\u200d': '', '\ufeff': '', '’': "'", '‘': "'"}


def _unspaced(ch: str) -> bool:
    cp = ord(ch)
    return (0x0E00 <= cp <= 0x0EFF or 0x1000 <= cp <= 0x109F or 0x1780 <= cp <= 0x17FF
            or 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF)


def _is_han(ch: str) -> bool:
    cp = ord(ch)
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0xF900 <= cp <= 0xFAFF


_OPENCC = None
_OPENCC_LOCK = threading.Lock()


@lru_cache(maxsize=8192)
def _simplified(ch: str) -> str:
    global _OPENCC
    if _OPENCC is None:
        with _OPENCC_LOCK:
            if _OPENCC is None:
                import opencc
                _OPENCC = opencc.OpenCC('t2s')
    out = _OPENCC.convert(ch)
    return out if len(out) == 1 else ch


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """One character as matched: casefolded, ASCII digits, Latin without diacritics, simplified Chinese."""
    cp = ord(ch)
    if cp in _DIGITS:
        return _DIGITS[cp]
    if ch in _PUNCT_WIDE:
        return _PUNCT_WIDE[ch]
    if 0xFF01 <= cp <= 0xFF5E:                       # full-width ASCII
        ch = chr(cp - 0xFEE0)
    if _is_han(ch):
        return _simplified(ch)
    if 0x0300 <= cp <= 0x036F:                       # a stray combining accent
        return ''
    low = ch.casefold()
    if len(low) != 1:
        low = ch.lower() if len(ch.lower()) == 1 else ch
    if low in _FOLD_EXTRA:
        return _FOLD_EXTRA[low]
    lcp = ord(low)
    if 0x00C0 <= lcp <= 0x024F or 0x1E00 <= lcp <= 0x1EFF:
        base = ''.join(c for c in unicodedata.normalize('NFD', low) if not unicodedata.combining(c))
        return base if len(base) == 1 else low
    if low.isspace():
        return ' '
    return low


@dataclass(frozen=True)
class _Text:
    original: str          # the visitor's text, NFC
    norm: str              # as matched
    index: tuple[int, ...]  # norm position -> original position

    def span(self, start: int, end: int) -> str:
        """The text as written behind norm[start:end]."""
        if start >= end:
            return ''
        return self.original[self.index[start]:self.index[end - 1] + 1]


@lru_cache(maxsize=2048)
def _read(text: str, join: bool = True) -> _Text:
    original = unicodedata.normalize('NFC', text or '')
    chars: list[str] = []
    index: list[int] = []
    i = 0
    while i < len(original):
        pair = original[i:i + 2]
        if pair in _PAIRS:
            chars.append(_PAIRS[pair])
            index.append(i)
            i += 2
            continue
        out = _fold_char(original[i])
        if out == ' ' and (not chars or chars[-1] == ' '):
            i += 1
            continue
        for c in out:
            chars.append(c)
            index.append(i)
        i += 1
    while chars and chars[-1] == ' ':
        chars.pop()
        index.pop()
    if join:  # drop a space between two characters of scripts written without spaces
        kept_c, kept_i = [], []
        for k, c in enumerate(chars):
            if (c == ' ' and 0 < k < len(chars) - 1 and _unspaced(chars[k - 1]) and _unspaced(chars[k + 1])):
                continue
            kept_c.append(c)
            kept_i.append(index[k])
        chars, index = kept_c, kept_i
    return _Text(original, ''.join(chars), tuple(index))


def _fold(pattern: str) -> str:
    """A pattern written with accents, folded the way texts are (ASCII, so regex syntax, is left alone)."""
    return ''.join(c if c.isascii() else _fold_char(c) for c in unicodedata.normalize('NFC', pattern))


def _alt(words) -> str:
    """A regex alternation of literal words, longest first, folded."""
    items = sorted({_fold(w.lower()) for w in words}, key=len, reverse=True)
    return '(?:' + '|'.join(re.escape(w).replace(r'\ ', r'\s*') for w in items) + ')'


def _langs(language: str) -> tuple[str, ...]:
    """The languages whose words are tried for a visitor speaking `language`, own words first."""
    language = (language or 'en').lower()
    if language == 'ms':
        return ('ms', 'id', 'en')
    if language == 'id':
        return ('id', 'ms', 'en')
    return (language, 'en') if language != 'en' else ('en',)


# Word boundaries for Latin words (texts are folded to ASCII letters there)
_B = r'(?<![a-z0-9])'
_E = r'(?![a-z0-9])'

# ================================================================================================
# numbers written as words
# ================================================================================================
_NUMBERS: dict[str, dict[str, int]] = {
    'en': {'one': 1, 'two': 2, 'three': 3, 'four': 4, 'five': 5, 'six': 6, 'seven': 7, 'eight': 8, 'nine': 9,
           'ten': 10, 'eleven': 11, 'twelve': 12},
    'vi': {'một': 1, 'hai': 2, 'ba': 3, 'bốn': 4, 'tư': 4, 'năm': 5, 'sáu': 6, 'bảy': 7, 'tám': 8, 'chín': 9,
           'mười': 10, 'mười một': 11, 'mười hai': 12},
    'th': {'หนึ่ง': 1, 'สอง': 2, 'สาม': 3, 'สี่': 4, 'ห้า': 5, 'หก': 6, 'เจ็ด': 7, 'แปด': 8, 'เก้า': 9,
           'สิบ': 10, 'สิบเอ็ด': 11, 'สิบสอง': 12},
    'ms': {'satu': 1, 'dua': 2, 'tiga': 3, 'empat': 4, 'lima': 5, 'enam': 6, 'tujuh': 7, 'lapan': 8,
           'delapan': 8, 'sembilan': 9, 'sepuluh': 10, 'sebelas': 11, 'dua belas': 12},
    'fil': {'una': 1, 'dos': 2, 'tres': 3, 'kwatro': 4, 'kuwatro': 4, 'cuatro': 4, 'singko': 5, 'sinko': 5,
            'cinco': 5, 'sais': 6, 'seis': 6, 'siyete': 7, 'syete': 7, 'siete': 7, 'otso': 8, 'ocho': 8,
            'nuwebe': 9, 'nueve': 9, 'diyes': 10, 'dies': 10, 'diez': 10, 'onse': 11, 'once': 11, 'dose': 12,
            'doce': 12},
    'ko': {'한': 1, '두': 2, '세': 3, '네': 4, '다섯': 5, '여섯': 6, '일곱': 7, '여덟': 8, '아홉': 9, '열': 10,
           '열한': 11, '열두': 12},
    'my': {'တစ်': 1, 'နှစ်': 2, 'သုံး': 3, 'လေး': 4, 'ငါး': 5, 'ခြောက်': 6, 'ခုနစ်': 7, 'ရှစ်': 8, 'ကိုး': 9,
           'ဆယ်': 10, 'ဆယ့်တစ်': 11, 'ဆယ့်နှစ်': 12},
    'km': {'មួយ': 1, 'ពីរ': 2, 'បី': 3, 'បួន': 4, 'ប្រាំ': 5, 'ប្រាំមួយ': 6, 'ប្រាំពីរ': 7, 'ប្រាំបី': 8,
           'ប្រាំបួន': 9, 'ដប់': 10, 'ដប់មួយ': 11, 'ដប់ពីរ': 12},
    'lo': {'ໜຶ່ງ': 1, 'ຫນຶ່ງ': 1, 'ສອງ': 2, 'ສາມ': 3, 'ສີ່': 4, 'ຫ້າ': 5, 'ຫົກ': 6, 'ເຈັດ': 7, 'ແປດ': 8,
           'ເກົ້າ': 9, 'ສິບ': 10, 'ສິບເອັດ': 11, 'ສິບສອງ': 12},
}
_NUMBERS['id'] = _NUMBERS['ms']
_NUMBER_VALUES = {lang: {_fold(w): n for w, n in words.items()} for lang, words in _NUMBERS.items()}
_CN_DIGITS = {'零': 0, '〇': 0, '一': 1, '二': 2, '两': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8,
              '九': 9}
_CN_NUM = r'(?:\d{1,2}|[零〇一二两三四五六七八九十]{1,3})'


def _cn_int(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    if '十' in s:
        tens, _, ones = s.partition('十')
        t = _CN_DIGITS.get(tens, None) if tens else 1
        o = _CN_DIGITS.get(ones, None) if ones else 0
        return None if t is None or o is None else t * 10 + o
    if len(s) == 1:
        return _CN_DIGITS.get(s)
    return None


def _num_re(language: str) -> str:
    words = _NUMBERS.get(language, {})
    if language == 'zh':
        return _CN_NUM
    if not words:
        return r'\d{1,2}'
    return r'(?:\d{1,2}|' + _alt(words)[3:]


def _value(language: str, token: str | None) -> int | None:
    if token is None:
        return None
    token = re.sub(r'\s+', ' ', token.strip())
    if token.isdigit():
        return int(token)
    if language == 'zh':
        return _cn_int(token)
    for lang in (language, 'en'):
        table = _NUMBER_VALUES.get(lang, {})
        if token in table:
            return table[token]
        compact = token.replace(' ', '')
        for word, n in table.items():
            if word.replace(' ', '') == compact:
                return n
    return None


# ================================================================================================
# days
# ================================================================================================
# relative day words: offset from today. Longest first is automatic (alternation sorted by length).
_RELATIVE: dict[str, dict[str, int]] = {
    'en': {'today': 0, 'tonight': 0, 'this morning': 0, 'this afternoon': 0, 'this evening': 0,
           'tomorrow': 1, 'tmr': 1, 'tmrw': 1, 'tomorow': 1, 'tommorow': 1, 'day after tomorrow': 2,
           'the day after tomorrow': 2, 'yesterday': -1},
    'vi': {'hôm nay': 0, 'bữa nay': 0, 'ngày hôm nay': 0, 'sáng nay': 0, 'trưa nay': 0, 'chiều nay': 0,
           'tối nay': 0, 'ngày mai': 1, 'mai': 1, 'sáng mai': 1, 'chiều mai': 1, 'tối mai': 1, 'bữa mai': 1,
           'ngày kia': 2, 'ngày mốt': 2, 'mốt': 2, 'hôm qua': -1, 'bữa qua': -1},
    'th': {'วันนี้': 0, 'เช้านี้': 0, 'บ่ายนี้': 0, 'เย็นนี้': 0, 'คืนนี้': 0, 'พรุ่งนี้': 1, 'พรุ้งนี้': 1,
           'มะรืนนี้': 2, 'มะรืน': 2, 'เมื่อวาน': -1, 'เมื่อวานนี้': -1},
    'ms': {'hari ini': 0, 'pagi ini': 0, 'petang ini': 0, 'malam ini': 0, 'esok': 1, 'besok': 1,
           'lusa': 2, 'semalam': -1, 'kelmarin': -1},
    'id': {'hari ini': 0, 'pagi ini': 0, 'siang ini': 0, 'sore ini': 0, 'nanti sore': 0, 'malam ini': 0,
           'besok': 1, 'esok': 1, 'besok lusa': 2, 'lusa': 2, 'kemarin': -1, 'kemaren': -1},
    'fil': {'ngayon': 0, 'ngayong araw': 0, 'ngayong hapon': 0, 'mamaya': 0, 'ngayong gabi': 0, 'bukas': 1,
            'bukas ng umaga': 1, 'makalawa': 2, 'sa makalawa': 2, 'kahapon': -1},
    'my': {'ဒီနေ့': 0, 'ယနေ့': 0, 'ဒီည': 0, 'မနက်ဖြန်': 1, 'နက်ဖြန်': 1, 'သဘက်ခါ': 2, 'မနေ့က': -1,
           'မနေ့': -1},
    'km': {'ថ្ងៃនេះ': 0, 'ល្ងាចនេះ': 0, 'យប់នេះ': 0, 'ថ្ងៃស្អែក': 1, 'ស្អែក': 1, 'ខានស្អែក': 2,
           'ម្សិលមិញ': -1},
    'lo': {'ມື້ນີ້': 0, 'ຕອນແລງນີ້': 0, 'ມື້ອື່ນ': 1, 'ມື້ຮື': 2, 'ມື້ວານ': -1, 'ມື້ວານນີ້': -1},
    'zh': {'今天': 0, '今日': 0, '今晚': 0, '今早': 0, '今天下午': 0, '明天': 1, '明日': 1, '明早': 1,
           '明晚': 1, '后天': 2, '大后天': 3, '昨天': -1, '前天': -2},
    'ko': {'오늘': 0, '오늘밤': 0, '내일': 1, '낼': 1, '모레': 2, '내일모레': 2, '글피': 3, '어제': -1},
}
# words before which a relative word is something else (Vietnamese "Mai" is also a given name)
_RELATIVE_GUARD = {'vi': re.compile(_fold(r'(?:tên(?: là)?|chị|cô|em|bà|ông|anh)\s+$'))}

_WEEKDAYS: dict[str, list[list[str]]] = {   # Monday .. Sunday
    'en': [['monday', 'mon'], ['tuesday', 'tue', 'tues'], ['wednesday', 'wed', 'weds'],
           ['thursday', 'thurs'], ['friday', 'fri'], ['saturday'], ['sunday']],
    'vi': [['thứ hai', 'thứ 2', 't2'], ['thứ ba', 'thứ 3', 't3'], ['thứ tư', 'thứ 4', 't4'],
           ['thứ năm', 'thứ 5', 't5'], ['thứ sáu', 'thứ 6', 't6'], ['thứ bảy', 'thứ 7', 't7'],
           ['chủ nhật', 'cn', 'chủ nhựt']],
    'th': [['วันจันทร์', 'จันทร์นี้', 'จันทร์หน้า'], ['วันอังคาร', 'อังคาร'], ['วันพุธ', 'พุธ'],
           ['วันพฤหัสบดี', 'วันพฤหัส', 'พฤหัสบดี', 'พฤหัส'], ['วันศุกร์', 'ศุกร์'], ['วันเสาร์', 'เสาร์'],
           ['วันอาทิตย์']],
    'ms': [['isnin'], ['selasa'], ['rabu'], ['khamis'], ['jumaat', 'jumat'], ['sabtu'], ['ahad']],
    'id': [['senin'], ['selasa'], ['rabu'], ['kamis'], ['jumat', "jum'at"], ['sabtu'],
           ['hari minggu', 'minggu']],
    'fil': [['lunes'], ['martes'], ['miyerkules', 'miyerkoles'], ['huwebes'], ['biyernes', 'byernes'],
            ['sabado'], ['linggo']],
    'my': [['တနင်္လာ'], ['အင်္ဂါ'], ['ဗုဒ္ဓဟူး'], ['ကြာသပတေး', 'ကြာသာပတေး'], ['သောကြာ'], ['စနေ'],
           ['တနင်္ဂနွေ']],
    'km': [['ថ្ងៃច័ន្ទ'], ['ថ្ងៃអង្គារ', 'អង្គារ'], ['ថ្ងៃពុធ', 'ពុធ'],
           ['ថ្ងៃព្រហស្បតិ៍', 'ព្រហស្បតិ៍', 'ព្រហស្បត្តិ៍'], ['ថ្ងៃសុក្រ', 'សុក្រ'], ['ថ្ងៃសៅរ៍', 'សៅរ៍'],
           ['ថ្ងៃអាទិត្យ']],
    'lo': [['ວັນຈັນ'], ['ວັນອັງຄານ', 'ອັງຄານ'], ['ວັນພຸດ'], ['ວັນພະຫັດ', 'ພະຫັດ'], ['ວັນສຸກ'], ['ວັນເສົາ'],
           ['ວັນອາທິດ']],
    'zh': [[f'{p}{d}' for p in ('星期', '周', '礼拜')] for d in ('一', '二', '三', '四', '五', '六')]
    + [['星期日', '星期天', '周日', '周天', '礼拜日', '礼拜天']],
    'ko': [['월요일', '월욜'], ['화요일', '화욜'], ['수요일', '수욜'], ['목요일', '목욜'], ['금요일', '금욜'],
           ['토요일', '토욜'], ['일요일', '일욜']],
}
# a weekday word that is something else here ("cái thứ hai" = the second one, "minggu depan" = next week)
_WEEKDAY_GUARD = {
    'vi': (re.compile(_fold(r'(?:cái|con|công ty|người|mục|số|lần|hàng|dòng|doanh nghiệp|đơn vị|chọn|lựa chọn|'
                            r'khung|ô|bên|nhà|gian hàng)\s+$')),
           re.compile(_fold(r'^\s*(?:của (?:hội chợ|triển lãm|expo)|nhé cái|trong danh sách)'))),
    'id': (None, re.compile(r'^\s*(?:depan|lalu|ini|ke|kemarin|lagi)')),
    'fil': (re.compile(r'(?:susunod na|nakaraang|isang|ngayong)\s*$'), None),
}
_MONTHS: dict[str, list[list[str]]] = {
    'en': [['january', 'jan'], ['february', 'feb'], ['march', 'mar'], ['april', 'apr'], ['may'],
           ['june', 'jun'], ['july', 'jul'], ['august', 'aug'], ['september', 'sept', 'sep'],
           ['october', 'oct'], ['november', 'nov'], ['december', 'dec']],
    'ms': [['januari'], ['februari'], ['mac'], ['april'], ['mei'], ['jun'], ['julai'], ['ogos'],
           ['september', 'sept'], ['oktober'], ['november'], ['disember']],
    'id': [['januari'], ['februari'], ['maret'], ['april'], ['mei'], ['juni'], ['juli'], ['agustus'],
           ['september', 'sept'], ['oktober'], ['november'], ['desember']],
    'fil': [['enero'], ['pebrero', 'febrero'], ['marso'], ['abril'], ['mayo'], ['hunyo'], ['hulyo'],
            ['agosto'], ['setyembre', 'septiyembre', 'septyembre', 'setiyembre'], ['oktubre'],
            ['nobyembre'], ['disyembre']],
    'th': [['มกราคม', 'ม.ค.'], ['กุมภาพันธ์', 'ก.พ.'], ['มีนาคม', 'มี.ค.'], ['เมษายน', 'เม.ย.'],
           ['พฤษภาคม', 'พ.ค.'], ['มิถุนายน', 'มิ.ย.'], ['กรกฎาคม', 'ก.ค.'], ['สิงหาคม', 'ส.ค.'],
           ['กันยายน', 'ก.ย.'], ['ตุลาคม', 'ต.ค.'], ['พฤศจิกายน', 'พ.ย.'], ['ธันวาคม', 'ธ.ค.']],
    'lo': [['ມັງກອນ'], ['ກຸມພາ'], ['ມີນາ'], ['ເມສາ'], ['ພຶດສະພາ'], ['ມິຖຸນາ'], ['ກໍລະກົດ'], ['ສິງຫາ'],
           ['ກັນຍາ'], ['ຕຸລາ'], ['ພະຈິກ'], ['ທັນວາ']],
    'km': [['មករា'], ['កុម្ភៈ'], ['មីនា'], ['មេសា'], ['ឧសភា'], ['មិថុនា'], ['កក្កដា'], ['សីហា'], ['កញ្ញា'],
           ['តុលា'], ['វិច្ឆិកា'], ['ធ្នូ']],
    'my': [['ဇန်နဝါရီ'], ['ဖေဖော်ဝါရီ'], ['မတ်'], ['ဧပြီ'], ['မေ'], ['ဇွန်'], ['ဇူလိုင်'], ['ဩဂုတ်', 'သြဂုတ်'],
           ['စက်တင်ဘာ'], ['အောက်တိုဘာ'], ['နိုဝင်ဘာ'], ['ဒီဇင်ဘာ']],
}
# "the first day", "the last day", "day 3" of the expo: (regex, index into days or None for a number)
_EXPO_DAY_WORDS: dict[str, list[tuple[str, int | None]]] = {
    'en': [(_B + r'(?:last|final|closing) day' + _E, -1), (_B + r'(?:first|opening) day' + _E, 0),
           (_B + r'second day' + _E, 1), (_B + r'third day' + _E, 2), (_B + r'fourth day' + _E, 3),
           (_B + r'fifth day' + _E, 4), (_B + r'day (?P<n>[1-9])' + _E, None)],
    'vi': [(_fold(r'ngày (?:cuối(?: cùng)?|bế mạc)'), -1), (_fold(r'ngày (?:đầu(?: tiên)?|khai mạc)'), 0),
           (_fold(r'ngày thứ (?P<n>[1-9]|hai|ba|tư|năm) (?:của|trong) (?:hội chợ|triển lãm|expo)'), None)],
    'th': [(r'วัน(?:สุดท้าย|ปิดงาน)', -1), (r'วัน(?:แรก|เปิดงาน)', 0),
           (r'วันที่(?P<n>[1-9]|สอง|สาม|สี่|ห้า)ของงาน', None)],
    'ms': [(r'hari (?:terakhir|penutupan)', -1), (r'hari (?:pertama|pembukaan)', 0), (r'hari kedua', 1),
           (r'hari ketiga', 2), (r'hari keempat', 3), (r'hari kelima', 4), (r'hari ke-?\s?(?P<n>[1-9])\b', None)],
    'fil': [(r'huling araw', -1), (r'(?:unang araw|araw ng pagbubukas)', 0),
            (r'(?:ikalawa|pangalawa)(?:ng| na) araw', 1), (r'(?:ikatlo|pangatlo)(?:ng| na) araw', 2),
            (r'(?:ikaapat|pang-apat) na araw', 3), (r'(?:ikalima|panlima)(?:ng| na) araw', 4),
            (r'ika-?(?P<n>[1-9])(?:ng| na) araw', None)],
    'zh': [(r'最后一天|闭幕(?:当天|那天|日)', -1), (r'首日|头一天|开幕(?:当天|那天|日)', 0),
           (r'第(?P<n>[一二三四五1-5])天', None)],
    'ko': [(r'마지막\s*날|폐막\s*일|폐막하는\s*날', -1), (r'첫\s*날|첫째\s*날|개막\s*일|개막하는\s*날', 0),
           (r'둘째\s*날', 1), (r'셋째\s*날', 2), (r'넷째\s*날', 3), (r'다섯째\s*날', 4),
           (r'(?<!\d)(?P<n>[1-9])\s*일\s*째', None)],
    'my': [(r'နောက်ဆုံးနေ့', -1), (r'ပထမ(?:ဆုံး)?နေ့|ဖွင့်ပွဲနေ့', 0), (r'ဒုတိယနေ့', 1), (r'တတိယနေ့', 2),
           (r'စတုတ္ထနေ့', 3), (r'ပဉ္စမနေ့', 4)],
    'km': [(r'ថ្ងៃចុងក្រោយ|ថ្ងៃបិទ', -1), (r'ថ្ងៃដំបូង|ថ្ងៃបើក', 0),
           (r'ថ្ងៃទី(?P<n>[1-5]|ពីរ|បី|បួន|ប្រាំ)(?:នៃ|របស់)(?:ពិព័រណ៍|ការតាំងពិព័រណ៍)', None)],
    'lo': [(r'(?:ມື້|ວັນ)ສຸດທ້າຍ', -1), (r'(?:ມື້|ວັນ)ທຳອິດ|ມື້ເປີດງານ', 0),
           (r'ມື້ທີ(?P<n>[1-5]|ສອງ|ສາມ|ສີ່|ຫ້າ)ຂອງງານ', None)],
}
_EXPO_DAY_WORDS['id'] = _EXPO_DAY_WORDS['ms']
_ORDINAL_WORD_VALUES = {'hai': 2, 'ba': 3, 'tu': 4, 'nam': 5, 'สอง': 2, 'สาม': 3, 'สี่': 4, 'ห้า': 5,
                        '一': 1, '二': 2, '三': 3, '四': 4, '五': 5, 'ពីរ': 2, 'បី': 3, 'បួន': 4, 'ប្រាំ': 5,
                        'ສອງ': 2, 'ສາມ': 3, 'ສີ່': 4, 'ຫ້າ': 5}


@lru_cache(maxsize=None)
def _day_patterns(language: str) -> list[tuple[re.Pattern, str, object]]:
    """(compiled, kind, value) for one language: kind 'rel' (offset), 'wd' (weekday 0-6), 'expo' (index)."""
    out: list[tuple[re.Pattern, str, object]] = []
    latin = language in ('en', 'vi', 'ms', 'id', 'fil')
    b, e = (_B, _E) if latin else ('', '')
    for word, offset in _RELATIVE.get(language, {}).items():
        out.append((re.compile(b + _alt([word]) + e), 'rel', offset))
    for weekday, words in enumerate(_WEEKDAYS.get(language, [])):
        out.append((re.compile(b + _alt(words) + e), 'wd', weekday))
    for pattern, index in _EXPO_DAY_WORDS.get(language, []):
        out.append((re.compile(_fold(pattern)), 'expo', index))
    return out


def _month_alt(language: str) -> tuple[str, dict[str, int]]:
    names = {}
    for lang in _langs(language):
        for number, words in enumerate(_MONTHS.get(lang, []), start=1):
            for w in words:
                names.setdefault(_fold(w), number)
    return _alt(names), names


@lru_cache(maxsize=None)
def _date_patterns(language: str) -> list[tuple[re.Pattern, str]]:
    """Calendar dates: (compiled, order) with groups d, m (number) or mn (month name), y (optional)."""
    months, _ = _month_alt(language)
    pats = [
        (r'(?<![\w./:-])(?P<y>20\d\d)-(?P<m>\d{1,2})-(?P<d>\d{1,2})(?![\w/-])', 'ymd'),
        (r'(?<![\w./:-])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>(?:20)?\d\d))?(?![\w/:]|\.\d)', 'ab'),
        (r'(?<![\w./:-])(?P<a>\d{1,2})-(?P<b>\d{1,2})(?:-(?P<y>20\d\d))?(?![\w/:-])', 'ab'),
        (r'(?<![0-9])(?P<d>\d{1,2})(?:st|nd|rd|th|hb)?\.?\s*(?:of\s+|ng\s+|de\s+)?(?P<mn>' + months
         + r')(?![a-z])', 'dmn'),
        (r'(?<![a-z])(?P<mn>' + months + r')\.?\s*(?P<d>\d{1,2})(?:st|nd|rd|th)?(?![0-9:])', 'mnd'),
    ]
    if language == 'vi':
        pats += [(_fold(r'(?<![0-9])(?P<d>\d{1,2})\s*(?:tháng|thg|th)\s*(?P<m>\d{1,2})(?![0-9])'), 'dm'),
                 (_fold(r'(?:ngày|mùng|hôm)\s*(?P<d>\d{1,2})(?![0-9:h/.])(?!\s*(?:giờ|gio|tiếng|h\b))'), 'd')]
    if language == 'th':
        pats += [(r'วันที่\s*(?P<d>\d{1,2})(?![0-9:.])', 'd')]
    if language in ('ms', 'id'):
        pats += [(r'(?:tanggal|tarikh|hb)\s*(?P<d>\d{1,2})(?![0-9:.])', 'd')]
    if language == 'fil':
        pats += [(r'(?:ika-?|sa)\s*(?P<d>1\d|2\d|3[01])(?![0-9:.])(?!\s*(?:ng hapon|ng umaga|na araw))', 'd')]
    if language == 'zh':
        pats += [(r'(?P<m>' + _CN_NUM + r')\s*月\s*(?P<d>' + _CN_NUM + r')\s*[日号]', 'dm'),
                 (r'(?<![月\d])(?P<d>' + _CN_NUM + r')\s*[日号](?![馆厅门线楼口展])', 'd')]
    if language == 'ko':
        pats += [(r'(?P<m>\d{1,2})\s*월\s*(?P<d>\d{1,2})\s*일(?!\s*째)', 'dm'),
                 (r'(?<![\d월])(?P<d>\d{1,2})\s*일(?!\s*째|\s*간|\s*동안)', 'd')]
    if language == 'my':
        pats += [(r'(?P<d>\d{1,2})\s*ရက်(?!\s*ကြာ)', 'd')]
    if language == 'km':
        pats += [(r'ថ្ងៃទី\s*(?P<d>\d{1,2})(?![0-9:])', 'd')]
    if language == 'lo':
        pats += [(r'ວັນທີ\s*(?P<d>\d{1,2})(?![0-9:])', 'd')]
    return [(re.compile(_fold(p)), order) for p, order in pats]


def _safe_date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


def _date_candidates(t: _Text, language: str, today: dt.date) -> list[tuple[int, str]]:
    _, month_names = _month_alt(language)
    found = []
    for pattern, order in _date_patterns(language):
        for m in pattern.finditer(t.norm):
            g = m.groupdict()
            year = today.year
            if g.get('y'):
                year = int(g['y']) if len(g['y']) == 4 else 2000 + int(g['y'])
            if order == 'ab':
                a, b = int(g['a']), int(g['b'])
                day, month = (b, a) if (b > 12 and a <= 12) else (a, b)
            elif order == 'd':
                day, month = _cn_int(g['d']) or 0, today.month
            elif order in ('dmn', 'mnd'):
                day, month = int(g['d']), month_names.get(g['mn'], 0)
            else:
                day, month = _cn_int(g['d']) or 0, _cn_int(g['m']) or 0
            iso = _safe_date(year, month, day) if month and day else None
            if iso:
                found.append((m.start(), iso))
    return found


def find_day(text: str, language: str, today: str, days: Sequence[str]) -> str | None:
    """The ISO date the visitor means, or None when no day is mentioned.

    Relative words (today, tomorrow, the day after tomorrow, yesterday), weekday names (the next such
    date on or after today), calendar dates, and the expo's own days ("the last day", "day 3"). The
    date is returned even when it is not an expo day: the caller says so.
    """
    t = _read(text)
    base = dt.date.fromisoformat(today)
    candidates: list[tuple[int, int, str]] = []   # (position, -length, iso)
    for start, iso in _date_candidates(t, language, base):
        candidates.append((start, 0, iso))
    for lang in _langs(language):
        for pattern, kind, value in _day_patterns(lang):
            for m in pattern.finditer(t.norm):
                before, after = t.norm[:m.start()], t.norm[m.end():]
                if kind == 'rel':
                    guard = _RELATIVE_GUARD.get(lang)
                    if guard and guard.search(before):
                        continue
                    iso = (base + dt.timedelta(days=value)).isoformat()
                elif kind == 'wd':
                    pre, post = _WEEKDAY_GUARD.get(lang, (None, None))
                    if pre is not None and pre.search(before) or post is not None and post.search(after):
                        continue
                    iso = (base + dt.timedelta(days=(value - base.weekday()) % 7)).isoformat()
                else:
                    index = value
                    if index is None:
                        n = m.group('n')
                        n = int(n) if n.isdigit() else _ORDINAL_WORD_VALUES.get(n)
                        if not n or n > len(days):
                            continue
                        index = n - 1
                    if not days:
                        continue
                    iso = days[index]
                candidates.append((m.start(), -(m.end() - m.start()), iso))
    if not candidates:
        return None
    return min(candidates)[2]


# ================================================================================================
# times
# ================================================================================================
# day-period words: 'am', 'pm', 'noon' (11-12 as said, 1-5 -> afternoon), 'night' (after 18:00)
_PERIODS: dict[str, dict[str, str]] = {
    'en': {'am': 'am', 'a.m.': 'am', 'a.m': 'am', 'pm': 'pm', 'p.m.': 'pm', 'p.m': 'pm', 'in the morning': 'am',
           'in the afternoon': 'pm', 'in the evening': 'pm', 'at night': 'night', 'this afternoon': 'pm',
           'this morning': 'am', 'tonight': 'night'},
    'vi': {'sáng': 'am', 'buổi sáng': 'am', 'trưa': 'noon', 'buổi trưa': 'noon', 'chiều': 'pm',
           'buổi chiều': 'pm', 'tối': 'night', 'buổi tối': 'night', 'đêm': 'night'},
    'ms': {'pagi': 'am', 'tengah hari': 'noon', 'tengahari': 'noon', 'petang': 'pm', 'sore': 'pm',
           'siang': 'noon', 'malam': 'night'},
    'fil': {'ng umaga': 'am', 'n.u.': 'am', 'ng tanghali': 'noon', 'ng hapon': 'pm', 'n.h.': 'pm',
            'ng gabi': 'night', 'ng madaling araw': 'am', 'sa umaga': 'am', 'sa hapon': 'pm'},
    'zh': {'凌晨': 'am', '早上': 'am', '早晨': 'am', '上午': 'am', '中午': 'noon', '下午': 'pm', '傍晚': 'pm',
           '晚上': 'night', '今晚': 'night', '明早': 'am', '明天上午': 'am', '明天下午': 'pm'},
    'ko': {'오전': 'am', '아침': 'am', '새벽': 'am', '점심': 'noon', '낮': 'noon', '오후': 'pm', '저녁': 'night',
           '밤': 'night'},
    'my': {'မနက်': 'am', 'နံနက်': 'am', 'နေ့လယ်': 'noon', 'နေ့လည်': 'noon', 'မွန်းလွဲ': 'pm', 'ညနေ': 'pm',
           'ည': 'night'},
    'km': {'ព្រឹក': 'am', 'ថ្ងៃត្រង់': 'noon', 'រសៀល': 'pm', 'ល្ងាច': 'pm', 'យប់': 'night'},
}
_PERIODS['id'] = _PERIODS['ms']
_CUES = {   # words before an hour that make a bare number a time
    'en': ['at', 'by', 'around', 'about', 'from', 'until', 'till', 'before', 'after'],
    'vi': ['lúc', 'vào lúc', 'khoảng', 'tầm', 'từ', 'đến'],
    'ms': ['jam', 'pukul', 'pkl', 'pkl.'],
    'fil': ['alas', 'ala'],
}
_CUES['id'] = _CUES['ms']
_UNITS = {'en': ["o'clock", 'oclock', 'o clock'], 'vi': ['giờ', 'g'], 'ms': [], 'fil': []}
_HALF = {'vi': ['rưỡi'], 'ms': ['setengah', 'stengah'], 'fil': ['y medya', 'y media', 'medya', 'imedya']}
_MINUTE = {'en': ['minutes', 'min', 'mins'], 'vi': ['phút'], 'ms': ['minit', 'menit'], 'fil': ['minuto']}
_MINUTE_WORDS = {'en': {'oh five': 5, 'ten': 10, 'fifteen': 15, 'twenty': 20, 'thirty': 30, 'forty': 40,
                        'forty-five': 45, 'forty five': 45, 'fifty': 50},
                 'fil': {'kinse': 15, 'y kinse': 15, 'bente': 20, 'trenta': 30, 'y trenta': 30,
                         'kuwarenta': 40}}


def _clock(hour: int | None, minute: int | None, period: str | None) -> str | None:
    if hour is None:
        return None
    minute = minute or 0
    if not 0 <= hour <= 23 or not 0 <= minute <= 59:
        return None
    if period == 'am':
        hour = 0 if hour == 12 else hour
    elif period in ('pm', 'night'):
        hour = hour + 12 if hour < 12 else hour
    elif period == 'noon':
        hour = hour + 12 if 1 <= hour <= 5 else hour
    elif 1 <= hour <= 6:          # the expo is open 09:00-18:00: a bare 1..6 is the afternoon
        hour += 12
    return f'{hour:02d}:{minute:02d}'


def _period(language: str, word: str | None) -> str | None:
    if not word:
        return None
    word = re.sub(r'\s+', ' ', word.strip())
    for lang in _langs(language):
        for w, p in _PERIODS.get(lang, {}).items():
            if _fold(w) == word or _fold(w).replace(' ', '') == word.replace(' ', ''):
                return p
    return None


@lru_cache(maxsize=None)
def _time_patterns(language: str) -> list[re.Pattern]:
    """The language's own time patterns, then the English ones."""
    own = _time_sources(language)
    return [re.compile(p) for p in own + (_time_sources('en') if language != 'en' else [])]


def _time_sources(language: str) -> list[str]:
    """Time patterns for one language, most specific first; named groups:
    h (hour), m (minutes), half, quarter (15), to (minutes before), pb/pa (period before/after), cue, unit."""
    P = _alt({**_PERIODS.get(language, {}), **_PERIODS['en']}) if language in _PERIODS else _alt(_PERIODS['en'])
    pats: list[str] = []
    num = _num_re(language)
    # 14:30, 2:30 pm, 下午 2:30, 14h30 (vi), 14.30 (with a cue, a period or a round quarter)
    pats.append(r'(?:(?P<pb>' + P + r')\s*)?(?<![\d:./-])(?P<h>\d{1,2})\s*[:]\s*(?P<m>\d{2})(?![\d:])'
                r'(?:\s*(?:giờ|น\.?|h))?\s*(?P<pa>' + P + r')?')
    if language == 'en' or language in _CUES:
        cues = _alt(_CUES.get(language, []) + _CUES['en'])
        pats.append(r'(?:(?P<pb>' + P + r')\s*)?(?:(?P<cue>' + cues + r')\s*)(?<![\d./-])(?P<h>\d{1,2})\.'
                    r'(?P<m>\d{2})(?![\d.])\s*(?P<pa>' + P + r')?')
    pats.append(r'(?:(?P<pb>' + P + r')\s*)?(?<![\w./:-])(?P<h>\d{1,2})\.(?P<m>[0-5][05])(?![\d.])'
                r'(?:\s*(?P<unit>น\.?|h))?\s*(?P<pa>' + P + r')?')
    if language == 'en':
        pats += [
            _B + r'(?:(?P<half>half)|(?P<quarter>(?:a )?quarter)) (?:past|after) (?P<h>' + num + r')' + _E
            + r'(?:\s*(?P<pa>' + P + r'))?',
            _B + r'(?:a )?quarter (?P<to>to|before) (?P<h>' + num + r')' + _E + r'(?:\s*(?P<pa>' + P + r'))?',
            _B + r'(?P<noon>noon|midday|12 noon)' + _E,
            _B + r'(?:(?P<cue>' + _alt(_CUES['en']) + r')\s+)?(?P<h>' + num + r')\s*(?:' + _alt(_UNITS['en'])
            + r'|(?P<pa>' + P + r'))(?![a-z])',
            _B + r'(?P<cue>' + _alt(_CUES['en']) + r')\s+(?P<h>' + num + r')\s+(?P<mw>'
            + _alt(_MINUTE_WORDS['en']) + r')' + _E + r'(?:\s*(?P<pa>' + P + r'))?',
            _B + r'(?P<h>' + _alt(_NUMBERS['en']) + r')\s+(?P<mw>' + _alt(_MINUTE_WORDS['en']) + r')' + _E
            + r'(?:\s*(?P<pa>' + P + r'))?',
            _B + r'(?P<cue>' + _alt(_CUES['en']) + r')\s+(?P<h>' + num + r')(?![\d:./-])' + _E
            + r'(?!\s*(?:companies|company|people|persons|booths|exhibitors|days|hours|minutes|of))'
            + r'(?:\s*(?P<pa>' + P + r'))?',
        ]
    elif language == 'vi':
        pats += [
            _fold(r'(?:(?P<pb>' + P + r')\s*)?(?:(?P<cue>' + _alt(_CUES['vi']) + r')\s*)?(?<![\w.])(?P<h>' + num
                  + r')\s*(?:giờ|h|g)(?![a-z])(?:\s*(?P<half>rưỡi)|\s*kém\s*(?P<to>\d{1,2})(?:\s*phút)?'
                  + r'|\s*(?P<m>\d{1,2})(?:\s*phút)?)?(?:\s*(?P<pa>' + P + r'))?' + _E),
            _fold(r'(?:(?P<pb>' + P + r')\s*)?(?P<cue>lúc|vào lúc)\s+(?P<h>\d{1,2})(?![\d:./-])' + _E
                  + r'(?:\s*(?P<pa>' + P + r'))?'),
        ]
    elif language in ('ms', 'id'):
        cue = _alt(_CUES['ms'])
        pats += [
            _B + r'(?P<cue>' + cue + r')\s*setengah\s+(?P<hs>' + num + r')' + _E + r'(?:\s*(?P<pa>' + P + r'))?',
            _B + r'(?P<cue>' + cue + r')\s*(?P<h>' + num + r')(?:\s*[:.]\s*(?P<mc>\d{2}))?' + _E
            + r'(?:\s*(?:(?P<half>setengah|stengah)|'
            r'(?P<quarter>suku)|(?:lewat|lebih)\s*(?P<m>\d{1,2})(?:\s*(?:minit|menit))?|'
            r'(?:kurang)\s*(?P<to>\d{1,2}|suku)(?:\s*(?:minit|menit))?))?(?:\s*(?P<pa>' + P + r'))?',
            _B + r'(?P<noon>tengah\s*hari|tengahari)' + _E,
        ]
    elif language == 'fil':
        fil_num = r'(?:\d{1,2}|' + _alt(_NUMBERS['fil'])[3:]
        pats += [
            _B + r'(?P<cue>alas|ala)[\s-]*(?P<h>' + fil_num + r')(?:\s*[:.]\s*(?P<mc>\d{2}))?' + _E
            + r'(?:\s*(?P<half>y\s*medya|y\s*media|'
            r'medya)|\s*(?P<mw>' + _alt(_MINUTE_WORDS['fil']) + r'))?' + _E + r'(?:\s*(?P<pa>' + P + r'))?',
            _B + r'(?P<noon>tanghaling tapat|alas dose ng tanghali)' + _E,
        ]
    elif language == 'th':
        thn = _num_re('th')
        pats += [
            r'(?P<h>\d{1,2})\s*นาฬิกา(?:\s*(?P<m>\d{1,2})\s*นาที)?',
            r'(?P<noon>เที่ยง)(?:ตรง)?(?P<half>ครึ่ง)?(?!คืน)',
            r'(?P<night>' + thn + r')\s*ทุ่ม(?P<half>ครึ่ง)?',
            r'(?P<pb>บ่าย)\s*(?P<h>' + thn + r')?\s*(?<!ชั่ว)โมง(?:\s*(?P<half>ครึ่ง)|\s*(?P<m>\d{1,2})\s*นาที)?',
            r'(?<!ชั่ว)(?<!กี่)(?P<h>' + thn + r')\s*(?<!ชั่ว)โมง(?P<pa>เช้า|เย็น|ตรง)?'
            r'(?:\s*(?P<half>ครึ่ง)|\s*(?P<m>\d{1,2})\s*นาที)?',
        ]
    elif language == 'lo':
        lon = _num_re('lo')
        pats += [
            r'(?P<noon>ທ່ຽງ)(?:ຕົງ)?(?P<half>ເຄິ່ງ)?(?!ຄືນ)',
            r'(?P<night>' + lon + r')\s*ທຸ່ມ(?P<half>ເຄິ່ງ)?',
            r'(?P<pb>ບ່າຍ|ຕອນບ່າຍ|ຕອນເຊົ້າ|ເຊົ້າ|ຕອນແລງ|ແລງ)\s*(?P<h>' + lon + r')?\s*(?<!ຊົ່ວ)ໂມງ'
            r'(?:\s*(?P<half>ເຄິ່ງ)|\s*(?P<m>\d{1,2})\s*ນາທີ)?',
            r'(?<!ຊົ່ວ)(?P<h>' + lon + r')\s*(?<!ຊົ່ວ)ໂມງ(?P<pa>ເຊົ້າ|ແລງ|ຕົງ)?'
            r'(?:\s*(?P<half>ເຄິ່ງ)|\s*(?P<m>\d{1,2})\s*ນາທີ)?',
        ]
    elif language == 'zh':
        pats += [
            r'(?:(?P<pb>' + P + r')\s*)?(?<![第几\d])(?P<h>' + _CN_NUM + r')\s*[点时](?:\s*(?P<half>半)|\s*(?P<q>'
            r'一刻|三刻)|\s*(?P<m>' + _CN_NUM + r')\s*分?|(?P<clock>钟))?',
            r'(?P<noon>中午十二点|正午)',
        ]
    elif language == 'ko':
        kon = _num_re('ko')
        pats += [
            r'(?:(?P<pb>' + P + r')\s*)?(?<![\d가-힣])(?P<h>' + kon + r')\s*시'
            r'(?=$|[\s,.!?]|[에쯤까부요예이께경는로정반](?!간))(?:\s*(?P<half>반)|\s*(?P<m>\d{1,2})\s*분)?',
            r'(?P<noon>정오|낮\s*12\s*시)',
        ]
    elif language == 'my':
        myn = _num_re('my')
        pats += [
            r'(?:(?P<pb>' + P + r')\s*)?(?P<h>' + myn + r')\s*နာရီ(?!\s*ကြာ)(?:\s*(?P<half>ခွဲ)|\s*'
            r'(?P<m>\d{1,2})\s*မိနစ်)?(?:\s*(?P<pa>' + P + r'))?',
            r'(?P<noon>မွန်းတည့်)',
        ]
    elif language == 'km':
        kmn = _num_re('km')
        pats += [
            r'(?:(?P<pb>' + P + r')\s*)?ម៉ោង\s*(?P<h>' + kmn + r')(?:\s*[:.]\s*(?P<mc>\d{2}))?(?!\s*ម៉ោង)'
            r'(?:\s*(?P<half>កន្លះ)|\s*(?:និង\s*)?'
            r'(?P<m>\d{1,2})\s*នាទី)?(?:\s*(?P<pa>' + P + r'))?',
        ]
    return pats


@lru_cache(maxsize=None)
def _compiled_times(language: str) -> list[re.Pattern]:
    sources = _time_sources(language) + (_time_sources('en') if language != 'en' else [])
    return [re.compile(_fold(p)) for p in sources]


def _time_of(m: re.Match, language: str) -> str | None:
    g = {k: v for k, v in m.groupdict().items() if v is not None}
    if 'noon' in g:
        return f"12:{30 if 'half' in g else 0:02d}"
    if 'night' in g:                                  # Thai/Lao "N ทุ่ม": N hours after 18:00
        n = _value(language, g['night'])
        return _clock(18 + n, 30 if 'half' in g else 0, None) if n and 1 <= n <= 5 else None
    if language == 'zh' and g.get('h') == '一' and not ({'pb', 'half', 'q', 'm', 'clock'} & g.keys()):
        return None                                   # 一点 = "a little", not one o'clock
    if 'hs' in g:                                     # Indonesian "setengah tiga" = 2:30
        hour, minute = (_value(language, g['hs']) or 0) - 1, 30
    else:
        hour = _value(language, g.get('h'))
        minute = 0
        if 'm' in g or 'mc' in g:
            minute = _cn_int(g['m']) if language == 'zh' else int(g.get('m') or g['mc'])
        elif 'half' in g:
            minute = 30
        elif 'quarter' in g:
            minute = 15
        elif 'q' in g:
            minute = 15 if g['q'] == '一刻' else 45
        elif 'mw' in g:
            table = {_fold(k): v for k, v in _MINUTE_WORDS.get(language, _MINUTE_WORDS['en']).items()}
            minute = table.get(re.sub(r'\s+', ' ', g['mw']), 0)
    before, after = g.get('pb'), g.get('pa')
    period = _period(language, before) or _period(language, after)
    if language in ('th', 'lo'):
        if before in ('บ่าย', 'ບ່າຍ', 'ຕອນບ່າຍ', 'ແລງ', 'ຕອນແລງ'):
            period, hour = 'pm', hour if hour is not None else 1     # บ่ายโมง = 13:00
        elif before in ('ເຊົ້າ', 'ຕອນເຊົ້າ'):
            period = 'am'
        if after in ('เย็น', 'ແລງ'):
            period = 'pm'
        elif after in ('เช้า', 'ເຊົ້າ'):
            period = 'am'
            if language == 'th' and hour is not None and 1 <= hour <= 5:
                hour += 6                                              # สามโมงเช้า = 09:00
    if hour is None or minute is None:
        return None
    if 'to' in g:
        before_minutes = 15 if not g['to'].isdigit() else int(g['to'])
        total = hour * 60 + minute - before_minutes
        hour, minute = divmod(total, 60)
    return _clock(hour, minute, period)


def find_time(text: str, language: str) -> str | None:
    """The time of day the visitor means, as 'HH:MM' (24 h), or None.

    A bare hour 1..6 without am/pm is the afternoon (the expo is open 09:00-18:00). Dates, booth numbers,
    counts and phone numbers are not times: a number is a time only with a clock form (14:30, 2pm, 14h30),
    a time word (giờ, โมง, 点, 시, นาฬิกา, နာရီ, ម៉ោង, ໂມງ, o'clock) or a cue (at, lúc, jam, pukul, alas).
    """
    t = _read(text)
    best: tuple[int, int, str] | None = None
    for pattern in _compiled_times(language if language in LANGUAGES else 'en'):
        for m in pattern.finditer(t.norm):
            if m.end() == m.start():
                continue
            value = _time_of(m, language)
            if value is None:
                continue
            key = (m.start(), -(m.end() - m.start()), value)
            if best is None or key < best:
                best = key
    return best[2] if best else None


# ================================================================================================
# ordinals
# ================================================================================================
_ORDINAL_WORDS = {
    'en': {'first': 1, '1st': 1, 'second': 2, '2nd': 2, 'third': 3, '3rd': 3, 'fourth': 4, '4th': 4, 'fifth': 5,
           '5th': 5, 'sixth': 6, '6th': 6, 'seventh': 7, '7th': 7, 'eighth': 8, '8th': 8, 'ninth': 9, '9th': 9,
           'tenth': 10, '10th': 10},
    'ms': {'pertama': 1, 'kedua': 2, 'ketiga': 3, 'keempat': 4, 'kelima': 5, 'keenam': 6, 'ketujuh': 7,
           'kelapan': 8, 'kedelapan': 8, 'kesembilan': 9, 'kesepuluh': 10},
    'fil': {'pangalawa': 2, 'ikalawa': 2, 'pangatlo': 3, 'ikatlo': 3, 'pang-apat': 4, 'pangapat': 4,
            'ikaapat': 4, 'ika-apat': 4, 'panlima': 5, 'ikalima': 5, 'pang-anim': 6, 'ikaanim': 6, 'pampito': 7,
            'ikapito': 7, 'pangwalo': 8, 'ikawalo': 8, 'pansiyam': 9, 'ikasiyam': 9, 'pansampu': 10,
            'ikasampu': 10},
    'my': {'ပထမ': 1, 'ဒုတိယ': 2, 'တတိယ': 3, 'စတုတ္ထ': 4, 'ပဉ္စမ': 5, 'ဆဋ္ဌမ': 6, 'သတ္တမ': 7, 'အဋ္ဌမ': 8,
           'နဝမ': 9, 'ဒသမ': 10},
    'ko': {'첫': 1, '두': 2, '세': 3, '네': 4, '다섯': 5, '여섯': 6, '일곱': 7, '여덟': 8, '아홉': 9, '열': 10},
    'ko_th': {'첫째': 1, '둘째': 2, '셋째': 3, '넷째': 4, '다섯째': 5},
}
_TH_HEADS = r'(?:อัน|บริษัท|ร้าน|ราย|ตัว|ข้อ|ลำดับ|ตัวเลือก|รอบ|แห่ง|บูธ|ช่วง|เวลา|คน|ชื่อ)'
_LO_HEADS = r'(?:ອັນ|ບໍລິສັດ|ຮ້ານ|ລາຍການ|ແຫ່ງ|ບູດ|ໂຕ|ຕົວເລືອກ|ເວລາ|ຊ່ວງ)'


@lru_cache(maxsize=None)
def _ordinal_patterns(language: str) -> list[tuple[re.Pattern, int | None, str]]:
    """(compiled, value or None for group n, number language)."""
    en_ord = _alt(_ORDINAL_WORDS['en'])
    p: dict[str, list[tuple[str, int | None, str]]] = {
        'en': [
            (_B + r'(?<!at )(?:the |that )?(?:very )?last(?: one)?' + _E
             + r'(?! (?:day|night|year|week|time|month|minute|call|name|train|bus|entry|admission))', -1, 'en'),
            (_B + r'(?<!a )(?<!one )(?<!just a )(?P<n>' + en_ord + r')' + _E
             + r'(?! (?:aid|floor|day|time|class|of all|come|half|hand|thing|visit|name|lady|floor))', None, 'en'),
            (_B + r'(?:number|no\.?|option|choice|#)\s*(?P<n>\d{1,2})(?![\d:./-])', None, 'en'),
        ],
        'vi': [
            (_fold(r'(?<!ngày )(?<!lần )(?<!tầng )(?<!hôm )(?<!buổi )(?:cái |con |công ty |doanh nghiệp |'
                   r'đơn vị |gian hàng |mục |lựa chọn |người |khung giờ |giờ |bên )?(?:đầu tiên|thứ nhất)'),
             1, 'vi'),
            (_fold(r'(?<!ngày )(?<!hôm )(?<!vào )(?<!sáng )(?<!chiều )(?<!tối )(?<!trưa )(?<!tầng )(?<!lần )'
                   r'(?<!ngày thứ )\bthứ (?P<n>hai|ba|tư|năm|sáu|bảy|tám|chín|mười|\d{1,2})(?![\d:])'
                   r'(?! (?:tuần|này|tới|sau|nay|của hội chợ|của triển lãm))' + _E), None, 'vi'),
            (_fold(r'(?<!ngày )(?<!lần )(?<!hôm )(?<!tuần )(?:cái |công ty |mục |lựa chọn |khung giờ |giờ )?'
                   r'cuối(?: cùng)?' + _E + r'(?! (?:tuần|ngày|tháng|năm))'), -1, 'vi'),
            (_fold(r'\b(?:số|lựa chọn|mục)\s*(?P<n>\d{1,2})(?![\d:./-])' + _E + r'(?!\s*(?:giờ|người|công ty))'),
             None, 'vi'),
        ],
        'th': [
            (_TH_HEADS + r'แรก(?:สุด)?|^แรก', 1, 'th'),
            (r'(?<!วัน)(?<!ชั้น)(?<!ห้อง)(?<!โซน)(?<!ฮอลล์)(?<!อยู่)(?<!ครั้ง)' + _TH_HEADS + r'?ที่\s*(?P<n>'
             + _num_re('th') + r')(?!\s*(?:โมง|นาฬิกา|ทุ่ม|คน|บริษัท|ชั่วโมง|\d))', None, 'th'),
            (_TH_HEADS + r'สุดท้าย|^สุดท้าย', -1, 'th'),
            (r'(?:เบอร์|หมายเลข)\s*(?P<n>\d{1,2})(?!\d)', None, 'th'),
        ],
        'ms': [
            (_B + r'(?<!hari )(?<!kali )(?<!tingkat )(?<!lantai )(?<!minggu )(?<!tahun )(?<!aras )'
             r'(?P<n>' + _alt(_ORDINAL_WORDS['ms']) + r'|ke-?\s?\d{1,2})(?![-a-z0-9])(?!\s*(?:kali|hari))',
             None, 'ms'),
            (_B + r'(?<!hari )(?<!kali )(?<!minggu )(?<!tahun )terakhir' + _E, -1, 'ms'),
            (_B + r'(?:nombor|nomor|no\.?|pilihan)\s*(?P<n>\d{1,2})(?![\d:./-])', None, 'ms'),
        ],
        'fil': [
            (r'(?<!alas )(?<!ala )(?<!alas-)(?<!noong )\buna(?:ng (?!araw)[a-z]+)?' + _E + r'(?! sa lahat)', 1,
             'fil'),
            (_B + r'(?P<n>' + _alt(_ORDINAL_WORDS['fil']) + r'|ika-?\d{1,2})(?!(?:ng|\s*na)?\s+araw)'
             r'(?:ng|\s+na)?' + _E, None, 'fil'),
            (r'\b(?:pinakahuli|(?:yung|ang|iyong|yun) huli|huling (?!araw)[a-z]+|^huli$)' + _E, -1, 'fil'),
            (_B + r'(?:numero|number|no\.?)\s*(?P<n>\d{1,2})(?![\d:./-])', None, 'fil'),
        ],
        'zh': [
            (r'第\s*(?P<n>' + _CN_NUM + r')(?![天日层楼次届期周年月点\d])', None, 'zh'),
            (r'最后(?:那|一)?(?:个|家|位|项|条|种|场|款|间)|^最后(?:那个|一个)?$', -1, 'zh'),
            (r'头一(?:个|家|位)', 1, 'zh'),
        ],
        'ko': [
            (r'(?P<n>' + _alt(_ORDINAL_WORDS['ko']) + r'|\d{1,2})\s*번\s*째', None, 'ko'),
            (r'(?P<n>' + _alt(_ORDINAL_WORDS['ko_th']) + r')(?!\s*날)', None, 'ko_th'),
            (r'마지막(?!\s*날)(?!\s*으로)(?!\s*에)', -1, 'ko'),
            (r'(?<![\d몇])(?P<n>\d{1,2})\s*번(?!\s*째)(?!\s*(?:출구|게이트|홀|관|버스|정도|이나|씩|더|국도|선))', None,
             'ko'),
            (r'처음\s*(?:거|것|꺼|회사|업체)', 1, 'ko'),
        ],
        'my': [
            (r'(?P<n>' + _alt(_ORDINAL_WORDS['my']) + r')(?:ဆုံး)?(?!နေ့|ထပ်|အကြိမ်|ရက်)', None, 'my'),
            (r'နောက်ဆုံး(?!နေ့|အကြိမ်|ရက်)', -1, 'my'),
            (r'နံပါတ်\s*(?P<n>\d{1,2})(?!\d)', None, 'my'),
        ],
        'km': [
            (r'(?<!ថ្ងៃ)(?<!ជាន់)(?<!ម៉ោង)(?<!លេខ)ទី\s*(?P<n>' + _num_re('km') + r')(?!\s*ម៉ោង)', None, 'km'),
            (r'(?<!ថ្ងៃ)(?:ចុងក្រោយ|ក្រោយគេ)', -1, 'km'),
            (r'(?<!ថ្ងៃ)(?<!ពេល)ដំបូង', 1, 'km'),
            (r'លេខ\s*(?P<n>\d{1,2})(?!\d)', None, 'km'),
        ],
        'lo': [
            (r'(?<!ມື້)(?<!ວັນ)(?<!ຄັ້ງ)(?<!ຊັ້ນ)(?<!ເທື່ອ)' + _LO_HEADS + r'?ທຳອິດ', 1, 'lo'),
            (r'(?<!ວັນ)(?<!ມື້)(?<!ຊັ້ນ)(?<!ເລກ)ທີ\s*(?P<n>' + _num_re('lo') + r')(?!\s*ໂມງ)', None, 'lo'),
            (r'(?<!ມື້)(?<!ວັນ)(?<!ຄັ້ງ)(?<!ເທື່ອ)' + _LO_HEADS + r'?ສຸດທ້າຍ', -1, 'lo'),
            (r'(?:ເບີ|ໝາຍເລກ|ຫມາຍເລກ)\s*(?P<n>\d{1,2})(?!\d)', None, 'lo'),
        ],
    }
    p['id'] = p['ms']
    out = []
    for lang in _langs(language):
        for source, value, numbers in p.get(lang, []):
            out.append((re.compile(_fold(source)), value, numbers))
    return out


_ORDINAL_VALUES = {lang: {_fold(k): v for k, v in words.items()} for lang, words in _ORDINAL_WORDS.items()}


def _ordinal_value(token: str, numbers: str) -> int | None:
    token = re.sub(r'\s+', '', token)
    if token.isdigit():
        return int(token)
    m = re.fullmatch(r'(?:ke|ika)-?(\d{1,2})', token)
    if m:
        return int(m.group(1))
    if token in _ORDINAL_VALUES.get(numbers, {}):
        return _ORDINAL_VALUES[numbers][token]
    if numbers == 'zh':
        return _cn_int(token)
    return _value(numbers, token) if numbers in _NUMBERS or numbers == 'vi' else None


def find_ordinal(text: str, language: str) -> int | None:
    """A 1-based choice in a list just shown ("the second one", "第二家", "두 번째"); -1 for "the last one".

    Not a time ("2 giờ"), a count ("3 companies"), a day ("the first day") or a floor.
    """
    t = _read(text)
    bare = re.fullmatch(r'\s*(?:#|no\.?\s*)?(\d{1,2})\s*[.!]?\s*', t.norm)
    if bare and 1 <= int(bare.group(1)) <= 20:
        return int(bare.group(1))
    best: tuple[int, int] | None = None
    for pattern, value, numbers in _ordinal_patterns(language if language in LANGUAGES else 'en'):
        for m in pattern.finditer(t.norm):
            n = value if value is not None else _ordinal_value(m.group('n'), numbers)
            if n is None or not (n == -1 or 1 <= n <= 20):
                continue
            if best is None or m.start() < best[0]:
                best = (m.start(), n)
            break
    return best[1] if best else None


# ================================================================================================
# yes / no
# ================================================================================================
@dataclass(frozen=True)
class _Answers:
    yes: tuple[str, ...]
    no: tuple[str, ...]
    strict: tuple[str, ...] = ()      # words that also open a question ("có ... không?", "boleh saya ...")
    particles: tuple[str, ...] = ()   # what may follow the answer word (polite particles, thanks)
    softeners: tuple[str, ...] = ()   # polite acknowledgements that defer to the word after them (dạ không)
    fillers: tuple[str, ...] = ()     # hesitation before the answer


_ANSWERS: dict[str, _Answers] = {
    'en': _Answers(
        yes=('yes', 'yeah', 'yep', 'yup', 'yea', 'sure', 'of course', 'ok', 'okay', 'okey', 'k', 'alright',
             'all right', 'please', 'please do', 'yes please', 'go ahead', 'do it', 'fine', 'great', 'perfect',
             'sounds good', 'good', 'correct', 'right', "that's right", 'exactly', 'definitely', 'certainly',
             'absolutely', 'why not', 'no problem', 'no worries', "i'd like that", 'i would like that',
             "let's do it", 'book it', 'that would be great'),
        no=('no', 'nope', 'nah', 'not now', 'no thanks', 'no thank you', 'never mind', 'nevermind', "don't",
            'do not', 'not really', 'no need', "i'm good", 'not necessary', 'not today'),
        strict=('please', 'right', 'good', 'fine', 'great', "don't", 'do not', 'k'),
        particles=('thanks', 'thank you', 'thx', 'please', 'sir', 'madam', "ma'am", 'then', 'mate', 'sure'),
        fillers=('oh', 'ah', 'um', 'uh', 'hmm', 'well', 'er', 'erm')),
    'vi': _Answers(
        yes=('có', 'vâng', 'dạ', 'ừ', 'ừm', 'uh', 'ok', 'oke', 'okê', 'ô kê', 'được', 'được rồi', 'đồng ý',
             'đúng', 'đúng rồi', 'đúng vậy', 'phải', 'phải rồi', 'chắc chắn rồi', 'tất nhiên', 'tất nhiên rồi',
             'nhờ bạn', 'nhờ anh', 'nhờ em', 'nhờ chị', 'làm ơn', 'có chứ', 'muốn', 'cần', 'vâng được',
             'ok luôn'),
        no=('không', 'ko', 'k', 'hông', 'hổng', 'hok', 'không cần', 'không cần đâu', 'thôi', 'thôi khỏi',
            'khỏi', 'khỏi cần', 'chưa', 'chưa cần', 'không phải', 'không đâu', 'không muốn', 'không được',
            'thôi không cần'),
        strict=('có', 'được', 'phải', 'đúng', 'không', 'ko', 'k', 'cần', 'muốn', 'làm ơn', 'chưa', 'hông', 'dạ'),
        particles=('ạ', 'nhé', 'nhe', 'nha', 'đi', 'rồi', 'luôn', 'chứ', 'cảm ơn', 'cám ơn', 'cảm ơn nhiều',
                   'em', 'anh', 'chị', 'bạn', 'vậy', 'đâu', 'quý khách'),
        softeners=('dạ', 'vâng', 'ừ'),
        fillers=('à', 'ồ', 'ơ', 'uhm', 'hmm')),
    'th': _Answers(
        yes=('ครับ', 'คับ', 'ค่ะ', 'ค่า', 'ได้', 'ได้เลย', 'ใช่', 'ใช่แล้ว', 'ถูกต้อง', 'เอา', 'เอาเลย', 'ตกลง',
             'โอเค', 'ดี', 'ดีเลย', 'แน่นอน', 'จ้ะ', 'จ้า', 'อืม', 'อือ', 'เชิญ', 'รบกวนด้วย', 'ยินดี', 'ok'),
        no=('ไม่', 'ไม่ต้อง', 'ไม่เอา', 'ไม่ใช่', 'ไม่เป็นไร', 'ไม่ดีกว่า', 'ไม่ล่ะ', 'ไม่แล้ว', 'ไม่จำเป็น',
            'ยังไม่ต้อง', 'ยังก่อน'),
        particles=('ครับ', 'คับ', 'ค่ะ', 'คะ', 'ค่า', 'จ้ะ', 'จ้า', 'นะ', 'เลย', 'ขอบคุณ', 'แล้ว', 'ด้วย', 'ครับผม'),
        softeners=('ครับ', 'คับ', 'ค่ะ', 'ค่า'),
        fillers=('เอ่อ', 'อ๋อ', 'อ้อ')),
    'ms': _Answers(
        yes=('ya', 'ye', 'yup', 'iya', 'iye', 'boleh', 'baik', 'baiklah', 'ok', 'okey', 'oke', 'okay', 'setuju',
             'betul', 'benar', 'tentu', 'tentu saja', 'sudah tentu', 'mestilah', 'sila', 'silakan', 'tolong',
             'nak', 'mahu', 'mau', 'sip', 'siap', 'bagus', 'boleh juga', 'ya boleh'),
        no=('tidak', 'tak', 'tak nak', 'tak mahu', 'tidak mahu', 'tidak mau', 'tak payah', 'tak perlu',
            'tidak perlu', 'tak apa', 'tak apalah', 'tidak apa-apa', 'tak apa-apa', 'bukan', 'jangan', 'tak usah',
            'tidak usah', 'gak', 'nggak', 'ngga', 'enggak', 'engga', 'ga', 'ndak', 'gak usah', 'nggak usah',
            'ga usah', 'gak jadi', 'nggak jadi', 'tidak jadi', 'tak jadi', 'belum', 'tidak terima kasih'),
        strict=('boleh', 'sila', 'silakan', 'tolong', 'nak', 'mahu', 'mau', 'tidak', 'tak', 'bukan', 'ga',
                'gak', 'nggak', 'enggak', 'betul', 'benar', 'belum', 'ya'),
        particles=('terima kasih', 'makasih', 'trims', 'lah', 'ya', 'je', 'saja', 'aja', 'dong', 'deh', 'sih',
                   'encik', 'puan', 'pak', 'bu', 'kak', 'cik', 'tuan', 'la')),
    'fil': _Answers(
        yes=('oo', 'opo', 'oho', 'sige', 'ok', 'okay', 'oke', 'sure', 'tama', 'syempre', 'siyempre', 'pwede',
             'puwede', 'gusto ko', 'talaga', 'yes', 'g', 'game'),
        no=('hindi', 'huwag', 'wag', "'wag", 'ayoko', 'ayaw ko', 'hindi na', 'wala', 'wala na', 'di', "'di",
            'hindi kailangan', 'hindi na kailangan', 'no'),
        strict=('pwede', 'puwede', 'hindi', 'di', "'di", 'wala', 'gusto ko', 'tama', 'g'),
        particles=('po', 'ho', 'na', 'naman', 'salamat', 'lang', 'nga', 'na po')),
    'my': _Answers(
        yes=('ဟုတ်ကဲ့', 'ဟုတ်', 'ဟုတ်တယ်', 'ဟုတ်ပါတယ်', 'ရတယ်', 'ရပါတယ်', 'ကောင်းပါပြီ', 'ကောင်းတယ်',
             'ကောင်းပါတယ်', 'အိုကေ', 'လုပ်ပေးပါ', 'သေချာတာပေါ့', 'ဟုတ်ရှင့်', 'အင်း', 'ok'),
        no=('မဟုတ်ဘူး', 'မဟုတ်ပါဘူး', 'မဟုတ်ပါ', 'မဟုတ်', 'မလိုဘူး', 'မလိုပါဘူး', 'မလိုပါ', 'မရဘူး', 'မလုပ်ပါနဲ့',
            'ဟင့်အင်း', 'ဟင်အင်း', 'တော်ပါပြီ', 'မလိုတော့ဘူး', 'မလိုအပ်ပါဘူး'),
        particles=('ခင်ဗျာ', 'ခင်ဗျ', 'ရှင်', 'ရှင့်', 'ပါ', 'နော်', 'ကျေးဇူးပဲ', 'ကျေးဇူးတင်ပါတယ်', 'ဗျ', 'ဗျာ')),
    'km': _Answers(
        yes=('បាទ', 'ចាស', 'ចា', 'បាទបាទ', 'ព្រម', 'យល់ព្រម', 'បាន', 'បានហើយ', 'ល្អ', 'ល្អណាស់', 'អូខេ',
             'ត្រូវហើយ', 'ត្រូវ', 'មែន', 'មែនហើយ', 'ok'),
        no=('ទេ', 'អត់ទេ', 'អត់', 'មិនអីទេ', 'មិនចាំបាច់ទេ', 'មិនចាំបាច់', 'មិនមែនទេ', 'មិនមែន', 'មិនបាច់ទេ',
            'មិនត្រូវការទេ', 'អត់ត្រូវការទេ'),
        particles=('បាទ', 'ចាស', 'អរគុណ', 'សូមអរគុណ', 'ណា', 'ហើយ', 'លោក'),
        softeners=('បាទ', 'ចាស', 'ចា')),
    'lo': _Answers(
        yes=('ເຈົ້າ', 'ແມ່ນ', 'ແມ່ນແລ້ວ', 'ໄດ້', 'ໄດ້ເລີຍ', 'ໂອເຄ', 'ຕົກລົງ', 'ເອົາ', 'ດີ', 'ດີເລີຍ', 'ແນ່ນອນ',
             'ok'),
        no=('ບໍ່', 'ບໍ່ແມ່ນ', 'ບໍ່ເອົາ', 'ບໍ່ຕ້ອງ', 'ບໍ່ເປັນຫຍັງ', 'ບໍ່ໄດ້', 'ບໍ່ຈຳເປັນ', 'ບໍ່ແລ້ວ'),
        particles=('ເຈົ້າ', 'ເດີ', 'ແລ້ວ', 'ຂອບໃຈ', 'ນໍ', 'ເນາະ', 'ເລີຍ', 'ຄັບ', 'ໂດຍ'),
        softeners=('ເຈົ້າ',)),
    'zh': _Answers(
        yes=('好', '好的', '好啊', '好呀', '好吧', '好嘞', '是', '是的', '是啊', '对', '对的', '对啊', '可以',
             '可以的', '行', '行啊', '嗯', '嗯嗯', '恩', '要', '要的', '需要', '没问题', '当然', '当然可以',
             '麻烦你了', '麻烦了', '请', 'ok', '确定', '好滴'),
        no=('不', '不要', '不用', '不用了', '不是', '不行', '不可以', '不需要', '没有', '没', '算了', '不了', '别',
            '不必', '不必了', '不用麻烦了'),
        particles=('的', '啊', '呀', '吧', '了', '哦', '喔', '嘛', '谢谢', '谢了', '谢谢你', '麻烦你', '麻烦你了',
                   '哈'),
        fillers=('呃', '额', '哦', '噢', '那')),
    'ko': _Answers(
        yes=('네', '넵', '넹', '네네', '예', '응', '그래', '그래요', '그럼요', '좋아요', '좋습니다', '좋아',
             '알겠습니다', '알겠어요', '부탁해요', '부탁합니다', '부탁드려요', '부탁드립니다', '해 주세요',
             '맞아요', '맞습니다', '당연하죠', '물론이죠', '물론', '오케이', '콜', '그렇게 해 주세요'),
        no=('아니요', '아뇨', '아니', '아니에요', '아닙니다', '괜찮아요', '괜찮습니다', '됐어요', '됐습니다',
            '싫어요', '필요 없어요', '필요없어요', '안 할래요', '안 해요', '아니오', '노'),
        strict=('물론', '좋아', '그래'),
        particles=('요', '감사합니다', '고맙습니다', '감사해요'),
        fillers=('아', '음', '어')),
}
_ANSWERS['id'] = _ANSWERS['ms']
_SEPARATORS = ' ,.!?;:…-—–~'
_SPACED = ('en', 'vi', 'ms', 'id', 'fil', 'ko')


@lru_cache(maxsize=None)
def _answer_table(language: str) -> tuple[list[tuple[str, bool, bool, bool, bool]], tuple[str, ...],
                                         tuple[str, ...]]:
    """(phrase, is_yes, strict, softener, spaced language) longest first; particles; fillers (all folded)."""
    rows: dict[str, tuple[str, bool, bool, bool, bool]] = {}
    particles: list[str] = []
    fillers: list[str] = []
    for lang in _langs(language):
        a = _ANSWERS.get(lang)
        if a is None:
            continue
        spaced = lang in _SPACED
        strict = {_fold(w) for w in a.strict}
        soft = {_fold(w) for w in a.softeners}
        for words, is_yes in ((a.no, False), (a.yes, True)):
            for w in words:
                f = _fold(w.lower())
                rows.setdefault(f, (f, is_yes, f in strict, f in soft, spaced))
        particles += [_fold(w) for w in a.particles]
        fillers += [_fold(w) for w in a.fillers]
    ordered = sorted(rows.values(), key=lambda r: len(r[0]), reverse=True)
    return (ordered, tuple(sorted(set(particles), key=len, reverse=True)),
            tuple(sorted(set(fillers), key=len, reverse=True)))


def _word_end(s: str, end: int, spaced: bool) -> bool:
    """Whether a phrase ending at `end` ends a word (Latin and Korean words run on in letters)."""
    if end >= len(s) or not spaced:
        return True
    nxt = s[end]
    return not (nxt.isalnum() or nxt == "'")


def _strip_particles(s: str, particles: tuple[str, ...], spaced_words: bool) -> tuple[str, int]:
    count = 0
    while True:
        s2 = s.lstrip(_SEPARATORS)
        for p in particles:
            if s2.startswith(p) and (not spaced_words or _word_end(s2, len(p), True)):
                s = s2[len(p):]
                count += 1
                break
        else:
            return s, count


def _answer_at(s: str, language: str, depth: int = 0) -> bool | None:
    rows, particles, _ = _answer_table(language)
    for phrase, is_yes, strict, soft, spaced in rows:
        if not s.startswith(phrase) or not _word_end(s, len(phrase), spaced or not _unspaced(phrase[-1])):
            continue
        rest = s[len(phrase):]
        if soft and depth < 2:
            after = _answer_at(rest.lstrip(_SEPARATORS), language, depth + 1)
            if after is not None:
                return after
        rest2, consumed = _strip_particles(rest, particles, spaced)
        if not rest2.strip(_SEPARATORS):
            return is_yes
        if consumed and (not spaced or rest2[:1] in _SEPARATORS and rest2[:1] != ' '):
            return is_yes           # "ได้ครับห้องน้ำ...", "không ạ, ..."
        if rest[:1] in _SEPARATORS and rest[:1] != ' ':
            return is_yes           # "yes, ...", "好的，..."
        if rest[:1] == ' ':
            return None if strict else is_yes
        return None
    return None


def yes_no(text: str, language: str) -> bool | None:
    """The answer to a yes/no question just asked: True, False, or None when the text is neither (a new
    question, a request). "no thanks" is False; "yes but where is the toilet?" is True."""
    s = _read(text, join=False).norm.strip(_SEPARATORS)
    if not s:
        return None
    _, _, fillers = _answer_table(language if language in LANGUAGES else 'en')
    for _ in range(3):
        for f in fillers:
            if s.startswith(f) and len(s) > len(f) and s[len(f)] in _SEPARATORS:
                s = s[len(f):].lstrip(_SEPARATORS)
                break
        else:
            break
    return _answer_at(s, language if language in LANGUAGES else 'en')


# ================================================================================================
# names
# ================================================================================================
@dataclass(frozen=True)
class _NameRules:
    intros: tuple[str, ...]            # regexes that end right before the name
    guarded: tuple[str, ...] = ()      # intros that also start other sentences ("I'm", "tôi là", "我是")
    company: str = ''                  # regex: a company marker after the name (group co follows it)
    stops: str = ''                    # regex: where a name ends otherwise
    particles: tuple[str, ...] = ()    # trimmed from the end of a name or company
    company_words: tuple[str, ...] = ()  # generic "company" nouns dropped from the company's name
    max_words: int = 5
    not_names: tuple[str, ...] = ()    # first words after a guarded intro that are not names
    questions: str = ''                # regex: a question, not a name


_PUNCT = r'[,.!?;:()\[\]"“”«»。，！？；：、၊။។៕]'
_NAME_RULES: dict[str, _NameRules] = {
    'en': _NameRules(
        intros=(r"\b(?:my name is|my name's|my names|name is|the name is|name's|call me|this is)\s+",),
        guarded=(r"(?:^|(?<=[\s,.!]))(?:i am|i'm|im|it's|it is)\s+",),
        company=r'\s+(?:from|with|of|at|representing|working (?:at|for))\s+(?:the\s+)?',
        stops=r'\s+(?:and|but|please|thanks|thank you|i|i\'d|i\'m|would|want|to|here|looking)\b',
        particles=('please', 'thanks', 'thank you', 'here'),
        company_words=('company', 'the company'),
        not_names=('looking', 'here', 'interested', 'hungry', 'from', 'a', 'an', 'the', 'not', 'going', 'fine',
                   'good', 'ok', 'okay', 'sorry', 'just', 'so', 'very', 'also', 'in', 'at', 'with', 'trying',
                   'waiting', 'lost', 'new', 'back', 'done', 'glad', 'happy', 'pleased', 'visiting', 'searching',
                   'sure', 'afraid', 'late', 'tired', 'thirsty', 'coming', 'leaving', 'still', 'already',
                   'finished', 'ready', 'free', 'busy', 'on', 'about', 'planning', 'wondering', 'hoping'),
        questions=r'\?|\b(?:what|where|when|how|why|who|which|can|could|is there|are there|do you|does)\b'),
    'vi': _NameRules(
        intros=(_fold(r'\b(?:tôi|em|mình|anh|chị|cháu|con|tớ|tui|tao)\s+tên\s+(?:là\s+)?'),
                _fold(r'\btên\s+(?:của\s+)?(?:tôi|em|mình|anh|chị|cháu|tui)\s+(?:là\s+)?'),
                _fold(r'^tên\s+(?:là\s+)?')),
        guarded=(_fold(r'\b(?:tôi|em|mình|tui)\s+là\s+'),),
        company=_fold(r'\s+(?:(?:đến\s+)?từ|ở|của|bên|thuộc|làm ở|làm việc tại|làm cho)\s+(?:công ty|cty|tập đoàn'
                      r'|doanh nghiệp)?\s*|\s+(?:công ty|cty|tập đoàn)\s+'),
        stops=_fold(r'\s+(?:và|muốn|cần|đang|đặt|hẹn|nhé|nha|ạ|đây|làm|số|rất vui|xin|cho)\b'),
        particles=('ạ', 'nhé', 'nha', 'đây', 'ha', 'nhá', 'à'),
        company_words=('công ty', 'cty', 'tập đoàn'),
        not_names=('người', 'khách', 'du khách', 'sinh viên', 'nhân viên', 'đến', 'ở', 'muốn', 'cần', 'đang', 'từ',
                   'bị', 'không', 'rất', 'ai', 'một', 'đói', 'lạc', 'mới'),
        questions=_fold(r'\?|\b(?:gì|đâu|nào|sao|bao giờ|mấy|ở đâu|không\s*$|hả|chưa\s*$)\b')),
    'th': _NameRules(
        intros=(r'(?:ผม|ฉัน|ดิฉัน|หนู|เรา|กระผม|พี่|น้อง|ชั้น)ชื่อ(?:เล่น)?(?:ว่า|คือ)?',
                r'ชื่อ(?:ของ)?(?:ผม|ฉัน|ดิฉัน|หนู)(?:คือ|ว่า)?', r'^ชื่อ(?:ว่า)?'),
        company=r'\s*(?:มาจาก|จาก|อยู่|ทำงาน(?:ที่|อยู่|กับ)|ตัวแทน)\s*(?:บริษัท|บ\.)?\s*|\s*บริษัท\s*',
        stops=r'\s*(?:ครับ|คับ|ค่ะ|คะ|ค่า|นะ|จ้ะ|จ้า|ยินดี|อยาก|ต้องการ|และ|ขอ)',
        particles=('ครับ', 'คับ', 'ค่ะ', 'คะ', 'ค่า', 'นะ', 'จ้ะ', 'จ้า', 'ครับผม'),
        company_words=('บริษัท', 'บ.'), max_words=3,
        questions=r'\?|ไหน|อะไร|ไหม|มั้ย|เท่าไหร่|ยังไง|อย่างไร|เมื่อไร|กี่'),
    'ms': _NameRules(
        intros=(r'\b(?:nama saya|nama aku|nama sy|namaku|nama|saya bernama|aku bernama|panggil saya)\s+'
                r'(?:ialah\s+|adalah\s+)?',
                r'\bperkenalkan,?\s*(?:nama\s+)?(?:saya|aku)\s+'),
        guarded=(r'(?:^|(?<=[\s,.!]))(?:saya|aku|sy|ini)\s+',),
        company=r'\s+(?:dari|daripada|wakil|mewakili|dr)\s+(?:syarikat|perusahaan)?\s*',
        stops=r'\s+(?:dan|mau|nak|ingin|hendak|ya|lah|mahu|terima kasih|boleh)\b',
        particles=('ya', 'je', 'lah', 'ye', 'terima kasih', 'kak', 'encik', 'pak'),
        company_words=('syarikat', 'perusahaan'),
        not_names=('mau', 'nak', 'ingin', 'hendak', 'perlu', 'cari', 'mencari', 'dari', 'di', 'ke', 'sedang',
                   'sudah', 'belum', 'tidak', 'tak', 'boleh', 'bisa', 'lapar', 'datang', 'ada', 'akan', 'juga',
                   'suka', 'pergi', 'orang', 'warga', 'seorang', 'wakil', 'nak', 'mahu', 'dah', 'baru', 'pun',
                   'sesat', 'tersesat', 'tunggu', 'menunggu', 'tanya', 'minta', 'punya', 'perlukan'),
        questions=r'\?|\b(?:apa|mana|bila|kapan|bagaimana|berapa|siapa|macam mana|boleh tak)\b'),
    'fil': _NameRules(
        intros=(r"\b(?:ako po ay si|ako ay si|ako po si|ako si|ako'y si|ang pangalan ko po ay|ang pangalan ko ay|"
                r"pangalan ko po ay|pangalan ko ay|pangalan ko po|pangalan ko|ang pangalan ko)\s+",
                r'\b(?:my name is|i am|i\'m)\s+'),
        company=r'\s+(?:mula sa|galing sa|galing|taga|from|ng kompanyang|sa kompanyang|ng|sa)\s+',
        stops=r'\s+(?:at|pero|po|ho|gusto|salamat|nga)\b',
        particles=('po', 'ho', 'nga', 'lang', 'salamat', 'na'),
        company_words=('kompanya', 'kumpanya'),
        questions=r'\?|\b(?:ano|saan|nasaan|kailan|paano|bakit|magkano|sino|ba)\b'),
    'zh': _NameRules(
        intros=(r'(?:我叫|我的名字(?:是|叫)|名字(?:是|叫)|叫我|本人(?:叫|是)?|我姓\S(?:，|,)?(?:叫|名叫))\s*',),
        guarded=(r'(?:^|(?<=[，,。\s]))我是\s*',),
        company=r'\s*[，,]?\s*(?:我)?(?:来自|是从|从|在)\s*',
        stops=r'\s*(?:[，,。.!！?？]|来自|是从|从|在|的|想|要|呀|啊|哦|哈|吧|了|谢谢|请)',
        particles=('呀', '啊', '哦', '哈', '吧', '了', '的', '公司的', '工作', '来的', '公司'),
        company_words=(), max_words=3,
        not_names=('来', '从', '在', '想', '要', '第一', '游客', '参观', '客人', '中国人', '学生', '记者', '一个',
                   '来自', '找', '过来', '这里'),
        questions=r'[?？吗呢]|哪|什么|怎么|几|多少|谁|为什么'),
    'ko': _NameRules(
        intros=(r'(?:제|내|저의|나의)\s*이름은\s*', r'(?:저는|전|나는|난)\s*'),
        company=r'\s*(?:에서\s*(?:온|왔|일하는|나온)|소속(?:의)?|의)\s*',
        stops=r'\s*(?:입니다|이에요|예요|이고요|이고|라고\s*합니다|이라고\s*합니다|라고\s*해요|이라고\s*해요|이요$|요$)',
        particles=('입니다', '이에요', '예요', '이고요', '이고', '이요', '요', '님'),
        company_words=('회사', '주식회사'), max_words=3,
        not_names=('학생', '관광객', '방문객', '바이어', '기자', '한국', '외국인', '배고파', '처음', '여기'),
        questions=r'\?|어디|뭐|무엇|언제|어떻게|왜|몇|누구|나요|까요|습니까|있어요\?'),
    'my': _NameRules(
        intros=(r'(?:ကျွန်တော့်|ကျွန်တော်|ကျွန်မ|ကျနော့်|ကျနော်|ကျမ)(?:ရဲ့)?\s*နာမည်(?:က)?\s*',
                r'^နာမည်(?:က)?\s*', r'(?:ကျွန်တော်|ကျွန်မ|ကျနော်)\s*(?=\S+\s*ပါ(?:\s|$|[၊။]))'),
        company=r'(?=\S+?\s*ကုမ္ပဏီ)',
        stops=r'\s*(?:ဖြစ်ပါတယ်|လို့ခေါ်ပါတယ်|ပါ(?:ခင်ဗျာ|ရှင့်|ရှင်)?(?:$|[၊။\s])|ခင်ဗျာ|ရှင့်|ရှင်|[၊။])',
        particles=('ဖြစ်ပါတယ်', 'ပါခင်ဗျာ', 'ပါရှင့်', 'ပါရှင်', 'ပါ', 'ခင်ဗျာ', 'ရှင့်', 'ရှင်', 'က'),
        company_words=('ကုမ္ပဏီ', 'ကုမ္ပဏီက', 'ကုမ္ပဏီကပါ', 'ကုမ္ပဏီမှ'), max_words=3,
        questions=r'\?|လဲ|လား|ဘယ်|ဘာ'),
    'km': _NameRules(
        intros=(r'(?:ខ្ញុំ(?:បាទ)?|នាងខ្ញុំ|ខ្ញុំម្ចាស់|យើង)ឈ្មោះ(?:ជា|គឺ)?\s*', r'ឈ្មោះ(?:របស់)?ខ្ញុំ(?:គឺ|ជា)?\s*',
                r'^ឈ្មោះ\s*'),
        company=r'\s*(?:មកពី|ពី|នៅ|ធ្វើការនៅ|តំណាង)\s*(?:ក្រុមហ៊ុន)?\s*',
        stops=r'\s*(?:បាទ|ចាស|ណា|ហើយ|ចង់|សូម|ត្រូវការ|[។,?])',
        particles=('បាទ', 'ចាស', 'ណា', 'ហើយ'),
        company_words=('ក្រុមហ៊ុន',), max_words=3,
        questions=r'\?|ឯណា|នៅណា|អ្វី|ប៉ុន្មាន|យ៉ាងម៉េច|ដែរឬទេ|ទេ\s*$|ឬទេ'),
    'lo': _NameRules(
        intros=(r'(?:ຂ້ອຍ|ຂ້າພະເຈົ້າ|ຂ້ານ້ອຍ|ເຮົາ|ນ້ອງ)ຊື່(?:ວ່າ)?\s*', r'ຊື່(?:ຂອງ)?ຂ້ອຍ(?:ແມ່ນ|ຄື)?\s*',
                r'^ຊື່(?:ວ່າ)?\s*'),
        company=r'\s*(?:ມາຈາກ|ຈາກ|ຢູ່|ເຮັດວຽກຢູ່|ຕາງໜ້າ)\s*(?:ບໍລິສັດ)?\s*',
        stops=r'\s*(?:ເຈົ້າ|ເດີ|ນະ|ຄັບ|ຢາກ|ຕ້ອງການ|ຍິນດີ|[,.?])',
        particles=('ເຈົ້າ', 'ເດີ', 'ນະ', 'ຄັບ'),
        company_words=('ບໍລິສັດ',), max_words=3,
        questions=r'\?|ໃສ|ຫຍັງ|ບໍ$|ແນວໃດ|ເທົ່າໃດ|ໃດ'),
}
_NAME_RULES['id'] = _NAME_RULES['ms']
_GREETINGS = tuple(_fold(g) for g in (
    'hello', 'hi', 'hey', 'good morning', 'good afternoon', 'good evening', 'bye', 'goodbye', 'thanks',
    'thank you', 'sorry', 'help', 'excuse me', 'xin chào', 'chào', 'chào bạn', 'cảm ơn', 'tạm biệt', 'xin lỗi',
    'สวัสดี', 'สวัสดีครับ', 'สวัสดีค่ะ', 'ขอบคุณ', 'ลาก่อน', 'ขอโทษ', 'selamat pagi', 'selamat siang',
    'selamat petang', 'selamat sore', 'selamat malam', 'halo', 'helo', 'hai', 'terima kasih', 'maaf',
    'kumusta', 'kamusta', 'magandang umaga', 'magandang hapon', 'magandang gabi', 'salamat', 'paalam',
    'မင်္ဂလာပါ', 'ကျေးဇူးတင်ပါတယ်', 'សួស្តី', 'ជំរាបសួរ', 'អរគុណ', 'ສະບາຍດີ', 'ຂອບໃຈ', '你好', '您好', '谢谢',
    '再见', '안녕하세요', '안녕', '감사합니다', '고맙습니다', '안녕히 계세요', '실례합니다', '죄송합니다'))


def _trim(value: str, particles: tuple[str, ...]) -> str:
    """`value` (a norm slice) without trailing particles and punctuation; returns the kept length."""
    changed = True
    while changed:
        changed = False
        value = re.sub(r'[\s,.!?;:()\[\]"“”«»。，！？；：、၊။។៕~…-]+$', '', value)
        value = re.sub(r'^[\s,.!?;:()\[\]"“”«»。，！？；：、၊။។៕~…-]+', '', value)
        for p in sorted(particles, key=len, reverse=True):
            fp = _fold(p)
            if value.endswith(fp) and len(value) > len(fp):
                head = value[:-len(fp)]
                if not fp.isascii() or head.endswith(' '):
                    value, changed = head, True
                    break
    return value


def _slice(t: _Text, start: int, end: int, particles: tuple[str, ...]) -> str:
    """The text as written for norm[start:end], trimmed of particles and punctuation at both ends."""
    piece = t.norm[start:end]
    kept = _trim(piece, particles)
    if not kept:
        return ''
    offset = piece.find(kept)
    return t.span(start + offset, start + offset + len(kept)).strip()


def _words(value: str) -> int:
    return len(value.split())


def _looks_like_name(value: str, rules: _NameRules, language: str) -> bool:
    f = _read(value).norm
    if not f or any(ch.isdigit() for ch in f) or '@' in f:
        return False
    if rules.questions and re.search(rules.questions, f):
        return False
    if f in _GREETINGS or any(f.startswith(g + ' ') for g in _GREETINGS if ' ' not in g and len(g) > 3):
        return False
    if _words(value) > rules.max_words + (2 if language in _SPACED else 0):
        return False
    if language not in _SPACED and not any(_unspaced(c) for c in f) and _words(value) > 4:
        return False
    return True


def _company_and_name(t: _Text, start: int, rules: _NameRules) -> tuple[str, str | None] | None:
    """Read a name starting at norm position `start`, then an optional company after a marker."""
    tail = t.norm[start:]
    stop = len(tail)
    company_at = None
    m_co = re.search(rules.company, tail) if rules.company else None
    m_stop = re.search(rules.stops, tail) if rules.stops else None
    m_punct = re.search(_PUNCT, tail)
    for m, is_company in ((m_co, True), (m_stop, False), (m_punct, False)):
        if m and 0 < m.start() < stop:
            stop = m.start()
            company_at = m.end() if is_company else None
    name = _slice(t, start, start + stop, rules.particles)
    if not name:
        return None
    company = None
    if company_at is None and rules.company and stop < len(tail):
        # "em tên Lan, từ công ty Vinamilk", "王伟，来自华为": a company marker after the punctuation
        after = stop
        while True:
            rest = tail[after:]
            m_sep = re.match(r'[\s,.;:，、၊။។]+', rest)
            m_part = re.match('|'.join(re.escape(_fold(p)) for p in rules.particles) or '(?!)', rest)
            step = (m_sep.end() if m_sep else 0) or (m_part.end() if m_part else 0)
            if not step:
                break
            after += step
        m_after = re.match(rules.company, tail[after:])
        shift = 0
        if not m_after:
            m_after, shift = re.match(rules.company, ' ' + tail[after:]), 1
        if m_after and after > stop and m_after.end() >= shift:
            company_at = after + m_after.end() - shift
    if company_at is not None:
        rest = t.norm[start + company_at:]
        end = len(rest)
        for pattern in (rules.stops, _PUNCT):
            m = re.search(pattern, rest) if pattern else None
            if m and 0 < m.start() < end:
                end = m.start()
        company = _slice(t, start + company_at, start + company_at + end, rules.particles + rules.company_words)
        for word in rules.company_words:
            fw = _fold(word)
            fc = _read(company).norm if company else ''
            if fc.startswith(fw + ' ') or (fc.startswith(fw) and not fw.isascii()):
                company = company[len(word):].strip() if len(company) > len(word) else company
        company = company or None
    return name, company


def find_name(text: str, language: str, *, asked: bool = False) -> tuple[str, str | None] | None:
    """(name, company or None) the visitor gives: "my name is Anna Lee from Acme", "tôi tên là Nguyễn Văn
    An", "ผมชื่อสมชาย", "我叫王伟，来自华为", "제 이름은 김민수입니다". With asked=True (the robot has just asked
    for the name) a bare short reply is the name; greetings, yes/no words, questions and long sentences are
    not. Names come back as written, without particles (ครับ, ạ, po, 입니다) and punctuation."""
    language = language if language in LANGUAGES else 'en'
    t = _read(text)
    if not t.norm:
        return None
    for lang in _langs(language):
        rules = _NAME_RULES.get(lang)
        if rules is None:
            continue
        if lang == 'zh':   # 我是华为的王伟: the company before the name
            m = re.search(r'我是\s*(?P<co>[^\s，,。的]{1,15}?)(?:公司)?的\s*(?P<n>[^\s，,。.!！?？的]{1,12})', t.norm)
            if m:
                name = _slice(t, m.start('n'), m.end('n'), rules.particles)
                co = _slice(t, m.start('co'), m.end('co'), ())
                if name and _looks_like_name(name, rules, lang):
                    return name, co or None
        if lang == 'ko':   # 저는 삼성전자의 김민수입니다 / 삼성에서 온 김민수입니다
            m = re.search(r'(?:저는|전)?\s*(?P<co>\S+?)\s*(?:의|에서\s*온|에서\s*일하는|소속)\s+(?P<n>[가-힣]{1,4}?'
                          r'(?:\s[가-힣]{1,3}?)?)\s*(?:입니다|이에요|예요|이라고|라고)', t.norm)
            if m:
                return (_slice(t, m.start('n'), m.end('n'), rules.particles),
                        _slice(t, m.start('co'), m.end('co'), rules.company_words) or None)
            m = re.search(r'(?:(?:제|내|저의|나의)\s*이름은|저는|전|나는|난)?\s*'
                          r'(?P<n>[가-힣]{1,4}?(?:\s[가-힣]{1,3}?)?|[a-z][a-z .\'-]{0,30}?)'
                          r'\s*(?:입니다|이에요|예요|이고요|이라고\s*합니다|라고\s*합니다|'
                          r'이라고\s*해요|라고\s*해요)', t.norm)
            if m and (m.group(0).strip() != m.group('n').strip() or asked or re.search(r'이름은', t.norm)):
                name = _slice(t, m.start('n'), m.end('n'), rules.particles)
                if name and _read(name).norm not in {_fold(w) for w in rules.not_names} \
                        and _looks_like_name(name, rules, lang):
                    return name, None
            continue
        for intro in rules.intros:
            m = re.search(intro, t.norm)
            if m and m.end() < len(t.norm):
                found = _company_and_name(t, m.end(), rules)
                if found and _looks_like_name(found[0], rules, lang):
                    return found
        for intro in rules.guarded:
            m = re.search(intro, t.norm)
            if not m or m.end() >= len(t.norm):
                continue
            first = t.norm[m.end():].split(' ')[0]
            if first in {_fold(w) for w in rules.not_names} or any(
                    t.norm[m.end():].startswith(_fold(w)) for w in rules.not_names if not w.isascii()):
                continue
            found = _company_and_name(t, m.end(), rules)
            if not found or not _looks_like_name(found[0], rules, lang):
                continue
            written = found[0]
            if lang in _SPACED and any(c.isupper() for c in t.original) and not written[:1].isupper():
                continue       # typed with capitals, and this is not a capitalised name
            return found
    if not asked:
        return None
    if yes_no(text, language) is not None or find_time(text, language) is not None:
        return None
    rules = _NAME_RULES[language]
    if rules.questions and re.search(rules.questions, t.norm):
        return None
    if any(t.norm == g or t.norm.startswith(g) and len(g) > 3 for g in _GREETINGS):
        return None
    if language == 'zh':   # 王伟，华为的
        m = re.fullmatch(r'(?P<n>[^\s，,。的]{1,12})[\s，,]+(?P<co>[^\s，,。的]{1,15}?)(?:公司)?的?[。.!！]?', t.norm)
        if m:
            return (_slice(t, m.start('n'), m.end('n'), rules.particles),
                    _slice(t, m.start('co'), m.end('co'), ()) or None)
    found = _company_and_name(t, 0, rules)
    if found is None or not _looks_like_name(found[0], rules, language):
        return None
    if _words(t.original) > 6:
        return None
    return found
