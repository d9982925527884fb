"""Shortening a too-long text at a sentence (or phrase) boundary, in every script the robot speaks."""
import pytest

from caexpo_robot.language import LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.speaking.shorten import shorten


def test_short_text_is_unchanged():
    assert shorten('  Hello.  ', 10) == 'Hello.'


@pytest.mark.parametrize('text, limit, expected', [
    ('The forum starts at ten. It is in hall five. Lunch is at noon.', 50,
     'The forum starts at ten. It is in hall five.'),
    ('Giá là 3.5 đô la. Hội trường năm ở bên trái.', 30, 'Giá là 3.5 đô la.'),      # 3.5 is no sentence end
    ('欢迎光临。洗手间在左边。谢谢您的光临', None, '欢迎光临。洗手间在左边。'),             # Chinese: no spaces
    ('ยินดีต้อนรับสู่งาน ห้องน้ำอยู่ทางซ้าย ขอบคุณมากครับ', None, 'ยินดีต้อนรับสู่งาน ห้องน้ำอยู่ทางซ้าย'),  # Thai: spaces
    ('ຍິນດີຕ້ອນຮັບ ຫ້ອງນ້ຳຢູ່ທາງຊ້າຍ ຂອບໃຈ', None, 'ຍິນດີຕ້ອນຮັບ ຫ້ອງນ້ຳຢູ່ທາງຊ້າຍ'),         # Lao: spaces
    ('សូមស្វាគមន៍។ បន្ទប់ទឹកនៅខាងឆ្វេង។ អរគុណ', None, 'សូមស្វាគមន៍។ បន្ទប់ទឹកនៅខាងឆ្វេង។'),  # Khmer ។
    ('ကြိုဆိုပါတယ်။ အိမ်သာက ဘယ်ဘက်မှာပါ။ ကျေးဇူးပါ', None, 'ကြိုဆိုပါတယ်။ အိမ်သာက ဘယ်ဘက်မှာပါ။'),  # Burmese ။
    ('one very long sentence without any end mark at all', 20, 'one very long'),      # a phrase break
    ('Your meeting with Angkor Golden Rice Co., Ltd. is booked for 10:30 on 17/9, at booth A1-012.', 76,
     'Your meeting with Angkor Golden Rice Co., Ltd. is booked for 10:30 on 17/9,'),   # "Ltd." ends no sentence
    ('Your meeting with Angkor Golden Rice Co., Ltd. is booked for 10:30 on 17/9, at booth A1-012 in hall 1.',
     90, 'Your meeting with Angkor Golden Rice Co., Ltd. is booked for 10:30 on 17/9,'),  # a clause, not "... in"
    ('x' * 100, 30, 'x' * 30),                                                        # no break at all
])
def test_long_text_is_cut_at_the_last_boundary_before_the_limit(text, limit, expected):
    limit = limit or len(expected) + 3    # (None: just past the expected cut, before the next boundary)
    assert shorten(text, limit) == expected
    assert len(shorten(text, limit)) <= limit


@pytest.mark.parametrize('language', LANGUAGES)
def test_a_long_answer_in_every_language_keeps_whole_sentences(language):
    pb = Phrasebook.load()
    sentence = pb.say('handoff_failed', language).text
    text = ' '.join([sentence] * 40)
    short = shorten(text, 800)
    assert 0 < len(short) <= 800 and text.startswith(short)
    assert short.endswith(sentence[-1]) or text[len(short)] in ' '
