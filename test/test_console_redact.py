"""Transcript masking before storage: phone numbers, e-mails, and names per language (self-introductions and
names the robot already knows), without masking what an operator needs (booths, times, prices)."""
import pytest
from caexpo_console.redact import mask

CASES = [
    ('en', 'My name is Anna Lee and I need a taxi', 'My name is [name] and I need a taxi'),
    ('en', "my name's tom, where is hall 3?", "my name's [name], where is hall 3?"),
    ('vi', 'Tên tôi là Nguyễn Văn An, tôi muốn gặp gian hàng', 'Tên tôi là [name], tôi muốn gặp gian hàng'),
    ('vi', 'tôi tên là Lan', 'tôi tên là [name]'),
    ('ms', 'Nama saya Siti Aminah dan saya dari Johor', 'Nama saya [name] dan saya dari Johor'),
    ('id', 'Halo, nama saya Budi. Di mana aula 5?', 'Halo, nama saya [name]. Di mana aula 5?'),
    ('id', 'saya bernama Dewi', 'saya bernama [name]'),
    ('fil', 'Ang pangalan ko ay Maria Santos', 'Ang pangalan ko ay [name]'),
    ('fil', 'Ako si Jose, saan ang CR?', 'Ako si [name], saan ang CR?'),
    ('th', 'สวัสดีครับ ผมชื่อสมชายครับ', 'สวัสดีครับ ผมชื่อ[name]ครับ'),
    ('th', 'ดิฉันชื่อมาลี ค่ะ', 'ดิฉันชื่อ[name] ค่ะ'),
    ('lo', 'ຂ້ອຍຊື່ສົມພອນ ເດີ', 'ຂ້ອຍຊື່[name] ເດີ'),
    ('km', 'ខ្ញុំឈ្មោះសុខា ។', 'ខ្ញុំឈ្មោះ[name] ។'),
    ('my', 'ကျွန်တော့်နာမည် အောင်အောင် ပါ', 'ကျွန်တော့်နာမည် [name] ပါ'),
    ('zh', '你好，我叫王伟，我想找榴莲展商', '你好，我叫[name]，我想找榴莲展商'),
    ('zh', '我姓李', '我姓[name]'),
    ('ko', '제 이름은 김민수입니다', '제 이름은 [name]입니다'),
    ('ko', '저는 박지은이라고 합니다', '저는 [name]이라고 합니다'),
]


@pytest.mark.parametrize('language,text,expected', CASES, ids=[f'{c[0]}-{i}' for i, c in enumerate(CASES)])
def test_self_introduction_names_masked(language, text, expected):
    assert mask(text, language) == expected


@pytest.mark.parametrize('text,expected', [
    ('call +84 912 345 678 please', 'call [phone] please'),
    ('số của tôi 0912.345.678', 'số của tôi [phone]'),
    ('(02) 8123-4567 or 081234567', '[phone] or [phone]'),
    ('write to anna.lee+expo@example.co.th', 'write to [email]'),
    ('我的邮箱是 wang_wei@qq.com，电话13912345678', '我的邮箱是 [email]，电话[phone]'),
])
def test_phones_and_emails_masked(text, expected):
    assert mask(text) == expected


@pytest.mark.parametrize('text', [
    'Booth A3-008 at 10:00 on 2025-09-20, hall 5',
    'It costs 25000 dong, 3 bags',
    'I am hungry, where is the food court?',
    'tôi là người Việt Nam',
    'call me back later',
])
def test_ordinary_text_left_alone(text):
    assert mask(text) == text


def test_known_names_masked_anywhere_any_case():
    assert mask('Hi LING, Ling said ling-ling is here', 'en', known_names=['Ling']) == \
        'Hi [name], [name] said [name]-[name] is here'
    assert mask('王伟先生您好', 'zh', known_names=['王伟']) == '[name]先生您好'
    # a name inside another word is not a mention (Anne in Annette)
    assert mask('Annette met Anne', 'en', known_names=['Anne']) == 'Annette met [name]'
