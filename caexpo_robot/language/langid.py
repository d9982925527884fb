"""Which of our languages a text is in, offline.

1. Script: Thai, Lao, Khmer, Myanmar, Hangul and Han letters name the language outright.
2. Latin text (vi, ms, id, fil, en): Vietnamese-only letters (ơ ư đ ă, dotted/hooked vowels) decide vi;
   so does Vietnamese typed without accents ("nha ve sinh o dau"): very frequent Vietnamese syllables
   that are not words of English, Malay, Indonesian or Filipino, and common Vietnamese word pairs;
   otherwise py3langid (restricted to our Latin languages) and pycld2 vote.
3. Malay vs Indonesian share most words: distinctive words decide (boleh/bisa, esok/besok,
   mesyuarat/rapat...); with none, `prefer` (the robot's configured default between the two), and
   only without a preference the statistical vote.
Confidence is a score in 0..1 for thresholds and logs, not a calibrated probability.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Iterable

from caexpo_robot.language.languages import LANGUAGE_INFO, LANGUAGES
from caexpo_robot.language.scripts import SCRIPT_LANGUAGE, script_counts

LATIN_LANGUAGES = tuple(c for c in LANGUAGES if LANGUAGE_INFO[c].script == 'Latin')
_TO_LIB = {'fil': 'tl'}                     # our code -> the libraries' code
_FROM_LIB = {'tl': 'fil', 'in': 'id'}       # the libraries' code -> ours
MIN_LETTERS = 2
GIBBERISH_SCORE = 150     # pycld2 score below which Latin text is likely not language at all

# Letters only Vietnamese uses among our Latin-script languages.
_VIETNAMESE = re.compile('[ơưđăƠƯĐĂ\u1EA0-\u1EF9]')
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")

# Words (lower case) that mark Malaysian Malay or Indonesian usage; shared words are left out.
MALAY_WORDS = frozenset('''
boleh bolehkah sila mesyuarat esok tempah tempahan pengeksport pengimport kakitangan bilik kereta
percuma wang tandas kedai sahaja kerana mahu nak kat awak encik puan syarikat perniagaan nombor telefon
selepas petang semalam jadual macam betul dewan manakah beritahu membeli-belah bas teksi lif
'''.split())
INDONESIAN_WORDS = frozenset('''
bisa bisakah silakan rapat besok pesan memesan eksportir importir pengekspor aula mobil uang toko
saja karena mau kapan gimana nggak enggak gak dong sih kok perusahaan bisnis nomor telepon kemarin
sore setelah sesudah gedung gratis jadwal ketemu bertemu kegiatan bapak mbak mas kakak dimana
tolong lift taksi kamar kecil beritahukan sampaikan
'''.split())
# Common words of both Malay and Indonesian (and not Tagalog or English).
MALAY_FAMILY_WORDS = frozenset('''
saya anda kami kita selamat datang terima kasih semua dan untuk dengan yang ini itu dari mana apa
tidak ada hari esok besok sedang mencari pukul tunggu sebentar maaf tolong di ke pameran ekspo dewan
'''.split()) | MALAY_WORDS | INDONESIAN_WORDS
# Tagalog function words: two of them in a sentence mark Filipino even amid English loanwords.
FILIPINO_WORDS = frozenset('''
po ang ng mga sa ako ko kayo ba nasaan saan paano magkano puwede pwede naman na ninyo namin
akin gusto salamat opo hindi ito iyan bukas ngayon may wala nga lang po't
'''.split())


# Very frequent Vietnamese syllables as typed without accents that are not (common) words of English,
# Malay, Indonesian or Filipino. Left out on purpose: di an de co ca la va o a ve (I've) hai tau ban nay
# mai dia oi tuan sau hang tai dung cap dat gan gap tim em chi cam hen rut hut sac tang lau nam thong.
VIETNAMESE_UNACCENTED = frozenset('''
toi minh chung khong duoc nhung nguoi cua dau nha sinh cong phe trua hoi gi nao bao nhieu cac mot muoi
gio ngay hom viet anh cho lam xin chao duong phong khu trien giup voi muon kiem lich huy uong nuoc tien
dien thoai hanh ly thuoc buyt ngam vay nhe phai roi biet thi cai quy khach ngoai trong nhat hoac neu
thich xe vao len xuong phut chieu thang pham xuat khau nhap duoi tren rieng cung doanh nghiep tham kinh
ghe nghe goi giao dich vu truong khi nhu nhan vien tro
'''.split())
# Pairs that are Vietnamese even when each word alone is ambiguous ("di dau", "an trua").
VIETNAMESE_PAIRS = frozenset('''
o_dau di_dau an_trua an_toi an_sang la_gi bao_nhieu cong_ty ca_phe nha_ve ve_sinh sau_rieng cho_toi
toi_muon o_day o_kia di_lai dat_lich hom_nay ngay_mai ban_oi co_khong co_the co_gi gi_vay dau_vay
tim_nha nha_cung cung_cap xuat_khau gap_mat hen_gap ve_may mua_ve rut_tien sac_pin hanh_ly lam_the
the_nao khi_nao bao_gio may_gio hoi_truong duoc_khong khong_a den_day nhan_vien ho_tro
'''.split())


@dataclass(frozen=True)
class LanguageGuess:
    code: str | None          # one of LANGUAGES, or None (no letters, unknown script, not a candidate)
    confidence: float         # 0..1 score, 0.0 when code is None
    method: str = ''          # 'script' | 'letters' | 'statistical' | 'words' | 'prefer' | why None


_IDENTIFIER = None
_IDENTIFIER_LOCK = threading.Lock()


def _langid_ranks(text: str, languages: tuple[str, ...]) -> dict[str, float]:
    """py3langid normalized probabilities over our Latin languages (model loaded once)."""
    global _IDENTIFIER
    with _IDENTIFIER_LOCK:
        if _IDENTIFIER is None:
            from py3langid.langid import MODEL_FILE, LanguageIdentifier
            _IDENTIFIER = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
            _IDENTIFIER.set_languages([_TO_LIB.get(c, c) for c in LATIN_LANGUAGES])
        ranks = _IDENTIFIER.rank(text)
    scores = {_FROM_LIB.get(lib, lib): float(p) for lib, p in ranks}
    total = sum(scores.get(c, 0.0) for c in languages) or 1.0
    return {c: scores.get(c, 0.0) / total for c in languages}


def _cld_votes(text: str, languages: tuple[str, ...]) -> tuple[dict[str, float], float]:
    """pycld2's top languages as shares (0..1) of the text, and its score for the best one.

    The score (pycld2's normalized score) is in the hundreds or thousands for real sentences and
    below ~100 for keyboard mashing like "asdf qwer zxcv".
    """
    import pycld2
    try:
        _, _, details = pycld2.detect(text, bestEffort=True)
    except pycld2.error:          # invalid UTF-8 (lone surrogates) and the like
        return {}, 0.0
    votes: dict[str, float] = {}
    for _, lib_code, percent, _ in details:
        code = _FROM_LIB.get(lib_code, lib_code)
        if code in languages and percent > 0:
            votes[code] = votes.get(code, 0.0) + percent / 100.0
    return votes, float(details[0][3])


def _unaccented_vietnamese(words: list[str]) -> float | None:
    """A confidence when the words read as Vietnamese typed without accents, else None.

    Counts the words that are frequent Vietnamese syllables found in no other of our Latin languages, and
    the word pairs that are Vietnamese; two signals covering at least 40 % of the words decide, unless
    two Filipino function words say Filipino ("ang", "ng", "po"...).
    """
    if len(words) < 2 or sum(w in FILIPINO_WORDS for w in words) >= 2:
        return None
    hits = {i for i, w in enumerate(words) if w in VIETNAMESE_UNACCENTED}
    for i in range(len(words) - 1):
        if f'{words[i]}_{words[i + 1]}' in VIETNAMESE_PAIRS:
            hits.update((i, i + 1))
    signals = sum(w in VIETNAMESE_UNACCENTED for w in words) + sum(
        f'{a}_{b}' in VIETNAMESE_PAIRS for a, b in zip(words, words[1:], strict=False))
    if signals >= 2 and len(hits) >= 0.4 * len(words):
        return round(min(1.0, 0.5 + 0.5 * len(hits) / len(words)), 3)
    return None


def identify(text: str, candidates: Iterable[str] | None = None, prefer: str | None = None) -> LanguageGuess:
    """The language of text among candidates (default: all of LANGUAGES).

    prefer: the robot's default between Malay and Indonesian ('ms' or 'id'), used when nothing in the
    text tells them apart. Never raises for odd text: no letters -> LanguageGuess(None, 0.0).
    """
    allowed = tuple(LANGUAGES if candidates is None else candidates)
    bad = [c for c in allowed if c not in LANGUAGES]
    if bad:
        raise ValueError(f'unknown candidate languages {bad}; known: {", ".join(LANGUAGES)}')
    if prefer is not None and prefer not in LANGUAGES:
        raise ValueError(f'unknown preferred language {prefer!r}')
    if not isinstance(text, str):
        raise TypeError(f'text must be str, got {type(text).__name__}')
    text = text.encode('utf-8', 'replace').decode('utf-8')  # lone surrogates would break the libraries
    counts = script_counts(text)
    letters = sum(counts.values())
    if letters < MIN_LETTERS:
        return LanguageGuess(None, 0.0, 'too few letters')

    if counts['Kana'] and counts['Kana'] >= counts['Hangul']:
        return LanguageGuess(None, 0.0, 'Japanese script')   # kana: not one of our languages
    # Korean text may carry Hanja; Han alone is Chinese.
    script_votes = {SCRIPT_LANGUAGE[s]: n for s, n in counts.items() if s in SCRIPT_LANGUAGE}
    if counts['Hangul']:
        script_votes['ko'] = script_votes.get('ko', 0) + script_votes.pop('zh', 0)
    latin = counts['Latin']
    if script_votes and max(script_votes.values()) >= latin:
        code, n = max(script_votes.items(), key=lambda kv: kv[1])
        if code not in allowed:
            return LanguageGuess(None, 0.0, f'{code} script, not a candidate')
        return LanguageGuess(code, round(n / letters, 3), 'script')
    if latin < max(MIN_LETTERS, letters // 2):
        return LanguageGuess(None, 0.0, 'no known script')

    latin_allowed = tuple(c for c in LATIN_LANGUAGES if c in allowed)
    if not latin_allowed:
        return LanguageGuess(None, 0.0, 'Latin script, no Latin candidate')
    words = [w.lower() for w in _WORD.findall(text)]
    if 'vi' in latin_allowed:
        vi_words = sum(1 for w in words if _VIETNAMESE.search(w))
        if vi_words and vi_words >= 0.3 * len(words):
            return LanguageGuess('vi', round(min(1.0, 0.7 + vi_words / len(words)), 3), 'letters')
        unaccented = _unaccented_vietnamese(words)
        if unaccented is not None:
            return LanguageGuess('vi', unaccented, 'words')
    if len(latin_allowed) == 1:
        return LanguageGuess(latin_allowed[0], 0.5, 'only candidate')

    langid_p = _langid_ranks(text, latin_allowed)
    cld_p, cld_score = _cld_votes(text, latin_allowed)
    scores = {c: 0.6 * langid_p.get(c, 0.0) + 0.4 * cld_p.get(c, 0.0) for c in latin_allowed}
    fil_hits = sum(w in FILIPINO_WORDS for w in words)
    if 'fil' in latin_allowed and fil_hits >= 2:
        scores['fil'] = max(scores['fil'], 0.8)
    family = [c for c in ('ms', 'id') if c in latin_allowed]
    if family and fil_hits < 2 and sum(w in MALAY_FAMILY_WORDS for w in words) >= 2:
        best = max(family, key=scores.get)
        scores[best] = max(scores[best], 0.8)
    code = max(scores, key=scores.get)
    method = 'statistical'

    pair = [c for c in ('ms', 'id') if c in latin_allowed]
    if code in pair and len(pair) == 2:
        ms_hits = sum(w in MALAY_WORDS for w in words)
        id_hits = sum(w in INDONESIAN_WORDS for w in words)
        both = scores['ms'] + scores['id']
        if ms_hits != id_hits:
            code, method = ('ms' if ms_hits > id_hits else 'id'), 'words'
        elif prefer in pair:   # statistics alone tell these two apart poorly on short sentences
            code, method = prefer, 'prefer'
        return LanguageGuess(code, round(min(1.0, both), 3), method)
    confidence = min(1.0, scores[code])
    if cld_score < GIBBERISH_SCORE:
        confidence, method = 0.3 * confidence, 'statistical, weak (maybe not language)'
    return LanguageGuess(code, round(confidence, 3), method)


def langid_main(texts: list[str], prefer: str | None = None) -> int:
    """CLI: one line per text, `<code>\\t<confidence:.2f>\\t<text>` (code '-' when unknown)."""
    for text in texts:
        guess = identify(text, prefer=prefer)
        print(f'{guess.code or "-"}\t{guess.confidence:.2f}\t{text}')
    return 0
