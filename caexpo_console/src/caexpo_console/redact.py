"""Masking personal data in transcript text before it is stored: phone numbers, e-mail addresses and names.

Names are found two ways: names the robot already knows from the conversation (given by the caller; masked
wherever they appear, any case), and the simple "my name is X" phrasings of the eleven languages. The
phrasings are deliberately narrow (the self-introduction, not "I am X", which is mostly "I am hungry"): a
missed name stays in text that the retention deletes anyway, a wrong mask only hides a harmless word.
Scripts without spaces between words (th lo km my zh) take the name up to the next space, punctuation or
polite particle, at most a few characters.
"""
from __future__ import annotations

import re
from typing import Iterable

NAME, PHONE, EMAIL = '[name]', '[phone]', '[email]'

_EMAIL = re.compile(r'[\w.+-]+@[\w-]+(?:\.[\w-]+)+', re.UNICODE)
# Seven or more digits in one run, allowing the separators people and ASR put between groups (spaces, dots,
# dashes, brackets) and a leading +. Times ("10:00") and short numbers (booth A3-008, prices) stay.
# Bounded by ASCII letters and digits only: "电话13912345678" is a phone number after a Chinese word.
# ISO dates (2025-09-20) are not phone numbers.
_PHONE = re.compile(r'(?<![0-9A-Za-z])(?!\d{4}-\d\d-\d\d(?![0-9]))\+?\(?\d(?:[\s().-]{0,2}\d){6,}(?![0-9A-Za-z])')

# A name of spaced scripts: one to three words, stopping at punctuation and at "and"-like joints.
_WORDS = r'((?:[^\W\d_][\w\'’-]*)(?:\s+(?!(?:and|và|dan|at|tapi|pero|lalu)\b)[^\W\d_][\w\'’-]*){0,2})'
_ONE_WORD_CAP = r'([^\W\d_][\w\'’-]*(?:\s+[A-Z][\w\'’-]*){0,2})'
_SPACED = [
    # en: "my name is Anna Lee", "my name's ..." (not "call me": "call me on +60...", "call me back")
    # (only the phrase ignores case: the name's further words must be capitalised, "my name is Anna and I...")
    re.compile(r'\b(?i:my name is|my name\'s)\s+' + _ONE_WORD_CAP),
    # vi: "tên tôi là Nguyễn Văn An", "tôi tên là ...", "tên em là ...", "tên của tôi là ..."
    re.compile(r'\b(?:tên (?:của )?(?:tôi|em|mình|anh|chị) là|(?:tôi|em|mình) tên là)\s+' + _WORDS, re.IGNORECASE),
    # ms / id: "nama saya Siti Aminah", "saya bernama ...", "panggil saya ..."
    re.compile(r'\b(?:nama saya|saya bernama|panggil saya|nama aku|aku bernama)\s+' + _WORDS, re.IGNORECASE),
    # fil: "ang pangalan ko ay Maria", "pangalan ko ay ...", "ako si ..."
    re.compile(r'\b(?:(?:ang )?pangalan ko ay|ako si|ako po si)\s+' + _WORDS, re.IGNORECASE),
]
# ko: "제 이름은 김민수입니다", "제 이름은 민수예요", "저는 김민수라고 합니다": the Hangul run before the ending.
_KO = [
    re.compile(r'(?:제\s*이름은|내\s*이름은)\s*([가-힣]{1,5}?)(?=입니다|이에요|예요|이야|야|이고|\s|[.,!?。]|$)'),
    re.compile(r'(?:저는|나는)\s*([가-힣]{1,5}?)(?=라고\s*합니다|이라고\s*합니다|라고\s*해요|이라고\s*해요)'),
]
# zh: "我叫王伟", "我的名字是王伟", "我姓王": a name is two to three characters (one after 姓).
_ZH = [
    re.compile(r'(?:我叫|我的名字是|我的名字叫|本人叫)\s*([\u4e00-\u9fff]{1,3})'),
    re.compile(r'我姓\s*([\u4e00-\u9fff])'),
]
# th: "ผมชื่อสมชาย", "ฉันชื่อ ...", "ดิฉันชื่อ ...", "ชื่อของฉันคือ ..."; up to a space or a polite particle.
_TH = re.compile(r'(?:ผมชื่อ|ฉันชื่อ|ดิฉันชื่อ|หนูชื่อ|เราชื่อ|ชื่อของ(?:ผม|ฉัน|ดิฉัน)คือ|ผมคือ)\s*'
                 r'([\u0e00-\u0e7f]+?)(?=ครับ|ค่ะ|คะ|นะ|จ้ะ|\s|[.,!?]|$)')
# lo: "ຂ້ອຍຊື່ ...", "ຂ້ອຍຊື່ແມ່ນ ..."
_LO = re.compile(r'(?:ຂ້ອຍຊື່(?:ແມ່ນ)?|ຂ້າພະເຈົ້າຊື່)\s*([\u0e80-\u0eff]+?)(?=ເດີ|ເຈົ້າ|ໂດຍ|\s|[.,!?]|$)')
# km: "ខ្ញុំឈ្មោះ ..."
_KM = re.compile(r'(?:ខ្ញុំឈ្មោះ|ឈ្មោះខ្ញុំ(?:គឺ)?)\s*([\u1780-\u17ff]+?)(?=បាទ|ចាស|\s|[.,!?។]|$)')
# my: "ကျွန်တော့်နာမည် ... ပါ", "ကျွန်မနာမည် ... ပါ", "ကျွန်တော့်နာမည်က ..."
_MY = re.compile(r'(?:ကျွန်တော့်|ကျွန်တော်|ကျွန်မ|ကျနော့်)\s*နာမည်(?:က)?\s*([\u1000-\u109f]+?)(?=ပါ|ဖြစ်|\s|[.,!?။]|$)')

_PATTERNS = {'ko': _KO, 'zh': _ZH, 'th': [_TH], 'lo': [_LO], 'km': [_KM], 'my': [_MY]}


def _mask_group(pattern: re.Pattern, text: str) -> str:
    def repl(match: re.Match) -> str:
        start, end = match.span(1)
        return match.string[match.start():start] + NAME + match.string[end:match.end()]
    return pattern.sub(repl, text)


def mask(text: str, language: str | None = None, known_names: Iterable[str] = ()) -> str:
    """`text` with e-mails, phone numbers and names replaced by [email], [phone], [name].

    Every language's phrasings are tried whatever `language` says (a Malay speaker's "my name is" in
    English is still a name; the patterns of different scripts cannot collide); `language` is kept for
    callers and future rules. `known_names`: names already learnt in this conversation (the visitor's name
    the robot asked for), masked wherever they occur."""
    del language
    text = _EMAIL.sub(EMAIL, text)
    text = _PHONE.sub(PHONE, text)
    for name in sorted({n.strip() for n in known_names if n and len(n.strip()) >= 2}, key=len, reverse=True):
        boundary = r'\b' if re.match(r'\w', name[0]) and name.isascii() else ''
        text = re.sub(boundary + re.escape(name) + boundary, NAME, text, flags=re.IGNORECASE)
    for pattern in _SPACED:
        text = _mask_group(pattern, text)
    for patterns in _PATTERNS.values():
        for pattern in patterns:
            text = _mask_group(pattern, text)
    return text
