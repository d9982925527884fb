"""Normalisation before matching (issue 11): prepare(), the one term matcher, typo-tolerant names."""
import subprocess
import sys

import pytest

from caexpo_assistant.text import contains_term, normalize
from caexpo_assistant.understanding.normalize import fold, fuzzy_contains, matches, prepare


def has(text: str, term: str, language: str) -> bool:
    return matches(prepare(text, language), term)


# -- prepare --------------------------------------------------------------------------------------------
def test_traditional_chinese_becomes_simplified_with_mainland_words():
    p = prepare('人工智慧展區在哪裡？我想找榴槤供應商', 'zh')
    assert p.text == '人工智能展区在哪里？我想找榴莲供应商'
    assert has('人工智慧展區在哪裡', '人工智能', 'zh') and has('人工智慧展區在哪裡', '展区', 'zh')
    assert has('网络安全公司有哪些', '網路安全', 'zh')          # a traditional term, a simplified question
    assert has('網路安全公司有哪些', '网络安全', 'zh')
    assert has('我想找榴槤供應商', '榴莲', 'zh')
    assert prepare('where is 華為 booth', 'en').text == 'where is 华为 booth'   # any language's Han text
    assert prepare('人工智能展区', 'zh').text == '人工智能展区'                    # simplified stays


@pytest.mark.parametrize('raw,expected', [
    ('ฮอลล์ ๕', 'ฮอลล์ 5'), ('សាល ៥', 'សាល 5'), ('ခန်းမ ၅', 'ခန်းမ 5'), ('ຫ້ອງ ໕', 'ຫ້ອງ 5'),
    ('下午１４：３０', '下午14:30'), ('Hall  5 ', 'hall 5'),
])
def test_native_digits_become_ascii(raw, expected):
    assert prepare(raw, 'en').text == expected
    assert normalize(raw) == expected


def test_folding_removes_latin_diacritics_only():
    assert fold('nhà vệ sinh ở đâu') == 'nha ve sinh o dau'
    assert fold('đặt lịch hẹn với Ơn') == 'dat lich hen voi On'
    assert prepare('ĐÀ NẴNG, café', 'vi').folded == 'da nang, cafe'
    for other in ('ห้องน้ำอยู่ไหน', 'ຫ້ອງນ້ຳ', 'បន្ទប់ទឹក', 'ဒူးရင်း', '화장실', '卫生间'):
        assert fold(other) == other       # vowel signs and Hangul are letters, not accents
    p = prepare('ห้องน้ำ อยู่ ที่ไหน', 'th')
    assert p.compact == 'ห้องน้ำอยู่ที่ไหน' and p.folded == 'ห้องน้ำ อยู่ ที่ไหน'


def test_tokens_segment_unspaced_scripts():
    assert prepare('ห้องน้ำอยู่ที่ไหน', 'th').tokens == ('ห้องน้ำ', 'อยู่', 'ที่ไหน')
    assert prepare('ຫ້ອງນ້ຳຢູ່ໃສ', 'lo').tokens == ('ຫ້ອງນ້ຳ', 'ຢູ່ໃສ')
    assert prepare('ខ្ញុំចង់ទៅបាត់ដំបង', 'km').tokens == ('ខ្ញុំ', 'ចង់', 'ទៅ', 'បាត់ដំបង')
    assert prepare('ခန်းမ ၅ ဘယ်မှာလဲ', 'my').tokens == ('ခန်း', 'မ', '5', 'ဘယ်', 'မှာ', 'လဲ')   # syllables
    assert prepare('nhà vệ sinh', 'vi').tokens == ('nha', 've', 'sinh')
    assert prepare('hall 5 ห้องน้ำอยู่ไหน', 'th').tokens[:3] == ('hall', '5', 'ห้องน้ำ')


# -- matches: Latin ----------------------------------------------------------------------------------------
def test_latin_terms_match_folded_on_word_boundaries():
    assert has('nhà vệ sinh ở đâu', 'nha ve sinh', 'vi')
    assert has('nha ve sinh o dau', 'nhà vệ sinh', 'vi')
    assert has('cho toi hoi cong ty ca phe o dau', 'cà phê', 'vi')
    assert not has('business centre', 'bus', 'en') and has('where is the bus stop', 'bus', 'en')
    assert has('saan po ang sakayan ng bus?', 'bus', 'fil')
    assert not has('hall 50', 'hall 5', 'en') and has('hall 5?', 'hall 5', 'en')
    assert has('ขอรหัสwifiหน่อยครับ', 'wifi', 'th')         # a Latin word glued to Thai
    assert has('와이파이wifi비번', 'wifi', 'ko')


def test_accents_typed_on_both_sides_must_agree():
    assert not has('công ty vệ tinh', 'vé', 'vi')            # satellite, not ticket
    assert has('mua vé ở đâu', 'vé', 'vi') and has('mua ve o dau', 'vé', 'vi') and has('mua vé ở đâu', 've', 'vi')
    assert has('nha vê sinh', 'nhà vệ sinh', 'vi')          # partly accented: ê is part of ệ


# -- matches: unspaced scripts -----------------------------------------------------------------------------
def test_chinese_and_korean_ignore_spaces():
    assert has('华为 云 在哪', '华为云', 'zh') and has('华为云在哪', '华为 云', 'zh')
    assert has('와이파이비밀번호 알려주세요', '와이파이 비밀번호', 'ko')
    assert has('와이파이는 어디서 연결해요?', '와이파이', 'ko')   # particle attached
    assert has('where is the 华为 booth', '華為', 'en')          # a Chinese name in an English question
    assert has('Có gian hàng 华为 không', '华为', 'vi')
    assert not has('15号馆在哪', '5号馆', 'zh') and has('去5号馆', '5号馆', 'zh')
    assert not has('thai展区', 'ai展区', 'zh') and has('去 ai 展区', 'ai展区', 'zh')


@pytest.mark.parametrize('text,term,expected', [
    # Thai, with and without spaces
    ('ห้องน้ำอยู่ที่ไหนครับ', 'ห้องน้ำ', True), ('ห้อง น้ำ อยู่ ที่ไหน', 'ห้องน้ำ', True),
    ('ห้องน้ำชายอยู่ไหน', 'ห้องน้ำ', True), ('ห้องน้ำอยู่ที่ไหนครับ', 'น้ำ', False),
    ('ห้องน้ำอยู่ที่ไหนครับ', 'ห้อง', True), ('ขอรหัสไวไฟหน่อย', 'ไวไฟ', True),   # the head of ห้อง|น้ำ
    ('งานเปิดกี่โมงครับ', 'ปิดกี่โมง', False), ('มีล่ามไหมอยากได้', 'หมอ', False),   # opens, not closes; ไห|มอ
    ('หิวข้าวแล้ว', 'หิว', True), ('ผู้ส่งออกทุเรียน', 'ส่งออก', True),       # compound's head, after a prefix
    ('ที่สูบบุหรี่อยู่ไหน', 'บุหรี่', False), ('ที่สูบบุหรี่อยู่ไหน', 'สูบบุหรี่', True),   # not the modifier alone
    ('อยากกินอาหาร ไปกินได้ที่ไหนบ้าง', 'ที่ไหน', True),
    # Lao
    ('ຫ້ອງນ້ຳຢູ່ໃສ', 'ຫ້ອງນ້ຳ', True), ('ຫ້ອງນ້ຳ ຢູ່ໃສ', 'ຫ້ອງນ້ຳ', True), ('ຫ້ອງນ້ຳຢູ່ໃສ', 'ນ້ຳ', False),
    ('ສາກແບັດມືຖືໄດ້ຢູ່ໃສ', 'ບັດ', False),                                         # battery, not badge
    # Khmer: Battambang is not "lost"
    ('ខ្ញុំចង់ទៅបាត់ដំបង', 'បាត់', False), ('បាត់ដំបង', 'បាត់', False), ('ខ្ញុំបាត់របស់', 'បាត់របស់', True),
    ('ខ្ញុំបាត់របស់', 'បាត់', True), ('ខ្ញុំ បាត់ របស់', 'បាត់របស់', True), ('បន្ទប់ទឹកនៅឯណា', 'បន្ទប់ ទឹក', True),
    ('រកក្រុមហ៊ុនអង្ករពីបាត់ដំបង', 'បាត់', False), ('មានអាហារបួសទេ', 'របួស', False),   # vegetarian, not injured
    ('សូមលុបចោលការណាត់ជួបរបស់ខ្ញុំ', 'ណាត់ជួប', True), ('ស្ថានីយ៍មេត្រូជិតបំផុតនៅឯណា', 'មេត្រូ', True),
    ('ត្រូវការឡានពេទ្យជាបន្ទាន់', 'បន្ទាន់', True),                                  # prefix, glued particle
    # Burmese: syllable boundaries (ရင် is not ရင်း; မ is not inside မြန်မာ)
    ('ဒူးရင်းတင်ပို့သူ ရှာနေပါတယ်', 'ဒူးရင်း', True), ('ဒူး ရင်း တင်ပို့သူ', 'ဒူးရင်း', True),
    ('ဒူးရင်းတင်ပို့သူ', 'ရင်', False), ('မြန်မာ', 'မ', False), ('ခန်းမ ၅ ဘယ်မှာလဲ', 'ခန်းမ', True),
])
def test_segmented_scripts_match_on_word_boundaries(text, term, expected):
    blocks = {'th': (0x0E00, 0x0E7F), 'lo': (0x0E80, 0x0EFF), 'my': (0x1000, 0x109F), 'km': (0x1780, 0x17FF)}
    language = next(code for code, (first, last) in blocks.items() if first <= ord(text[0]) <= last)
    assert has(text, term, language) is expected
    assert contains_term(normalize(text), term, language) is expected


def test_text_py_keeps_its_signatures_and_gains_the_new_matching():
    assert contains_term(normalize('NHA VE SINH o dau'), 'nhà vệ sinh', 'vi')
    assert contains_term(normalize('人工智慧展區'), '人工智能', 'zh')
    assert not contains_term(normalize('ខ្ញុំចង់ទៅបាត់ដំបង'), 'បាត់', 'km')
    assert not contains_term(normalize('business'), 'bus', 'en')
    assert not contains_term(normalize('anything'), '', 'en')


def test_segmenters_load_only_for_their_script():
    code = (
        'import sys\n'
        'from caexpo_assistant.understanding.normalize import matches, prepare\n'
        'assert matches(prepare("nhà vệ sinh ở đâu", "vi"), "nha ve sinh")\n'
        'assert matches(prepare("卫生间在哪", "zh"), "卫生间")\n'
        'assert not any(m.split(".")[0] in ("pythainlp", "laonlp", "khmernltk") for m in sys.modules)\n'
        'assert matches(prepare("ห้องน้ำอยู่ไหน", "th"), "ห้องน้ำ")\n'
        'assert "pythainlp" in sys.modules and "khmernltk" not in sys.modules\n'
        'assert not matches(prepare("បាត់ដំបង", "km"), "បាត់")\n'
        'assert "khmernltk" in sys.modules\n'
    )
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


# -- typo-tolerant names ---------------------------------------------------------------------------------
NAMES = ['huawei', 'alibaba cloud', 'musang king', 'iflytek', 'qianxin', 'kampot pepper', 'chanthaburi',
         'bolaven', 'lionsat', 'beidou', 'liuzhou', 'nusantara', 'sarawak', 'davao', 'mekong', 'angkor',
         'buon ma thuot', 'hom mali', 'liubao']


@pytest.mark.parametrize('text,name', [
    ('where is huawai booth', 'huawei'), ('alibaba clould please', 'alibaba cloud'),
    ('tìm công ty musang kng', 'musang king'), ('alibabacloud ở đâu', 'alibaba cloud'),
    ('book a meeting with iflytec', 'iflytek'), ('gian hàng Huawei ở đâu', 'huawei'),
    ('saan po ang kampot peper', 'kampot pepper'), ('di mana chantaburi durian', 'chanthaburi'),
])
def test_typos_in_names_are_forgiven(text, name):
    score = fuzzy_contains(prepare(text, 'en'), name)
    assert 80 <= score <= 100
    assert [n for n in NAMES if fuzzy_contains(prepare(text, 'en'), n)] == [name]   # and no other name


# Everyday questions in our Latin languages that name no exhibitor: no name may match by accident.
EVERYDAY = [
    'where is the nearest toilet please', 'I want to have lunch, where is the food court',
    'how do I get to the metro station', 'can I charge my phone somewhere', 'is there a mosque or prayer room',
    'where can I leave my luggage', 'what time does the hall open tomorrow', 'we are looking for mangoes',
    'nhà vệ sinh ở đâu vậy', 'cho tôi hỏi quầy thông tin ở đâu', 'hom nay co su kien gi khong',
    'di mana tandas yang terdekat', 'saya mau cari kopi dari bandung', 'boleh saya tempah mesyuarat esok',
    'nasaan po ang banyo', 'saan po ang sakayan ng taxi', 'magkano po ang kape dito',
    'ang ko ba ito', 'heavy rain today', 'be quiet', 'liu is my name', 'the mall is big', 'hello how are you',
]


def test_everyday_sentences_match_no_name():
    false_positives = [(text, name) for text in EVERYDAY for name in NAMES
                       if fuzzy_contains(prepare(text, 'en'), name)]
    print(f'\nfuzzy names: {len(false_positives)} false positives in {len(EVERYDAY) * len(NAMES)} pairs')
    assert false_positives == []


def test_fuzzy_only_for_long_latin_names():
    assert fuzzy_contains(prepare('where is acre booth', 'en'), 'acer') == 0.0          # under 5 letters
    assert fuzzy_contains(prepare('华为在哪', 'zh'), '华为') == 0.0                      # not Latin
    assert fuzzy_contains(prepare('where is uawei', 'en'), 'huawei') == 0.0            # first letter wrong
    assert fuzzy_contains(prepare('where is huawei', 'en'), 'huawei') == 100.0
    assert fuzzy_contains(prepare('where is hwaiwo', 'en'), 'huawei') == 0.0           # too many typos
    assert fuzzy_contains(prepare('where is hwaiwo', 'en'), 'huawei', min_score=30) > 0


def test_fuzzy_names_ignore_punctuation():
    assert fuzzy_contains(prepare('where is qianxin', 'en'), "Qi'anxin") == 100.0
    assert fuzzy_contains(prepare('angkor golden rise company', 'en'), 'Angkor Golden Rice Co., Ltd.') == 0.0
    assert fuzzy_contains(prepare('angkor golden rise', 'en'), 'Angkor Golden Rice') > 90
