"""Reply wording: Korean particles after the filled-in word, tidy punctuation, and the shipped reply files
(every key in every language, one register, the day named instead of "today", keywords that do not collide)."""
import re
import string

import pytest

from caexpo_assistant.catalog import LABEL_KEYS, REPLY_KEYS, load_replies, load_seed_folder
from caexpo_assistant.paths import data_path
from caexpo_assistant.text import contains_term, normalize
from caexpo_assistant.wording import finish, tidy
from caexpo_robot.language import LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook


@pytest.fixture(scope='module')
def replies():
    return load_replies(data_path('replies'))


@pytest.fixture(scope='module')
def seed():
    return load_seed_folder(data_path('seed'))


def ko(replies, key, **values):
    return finish('ko', replies['ko']['replies'][key].format(**values))


# -- Korean particles -------------------------------------------------------------------------------

def test_korean_templates_get_the_particle_that_fits_the_place_name(replies, seed):
    direction = '오른쪽 앞 방향으로 약 120미터 거리'
    prayer = seed['places']['prayer_room']['names']['ko']
    food = seed['places']['food_court']['names']['ko']
    assert (prayer, food) == ('기도실', '푸드코트')
    assert ko(replies, 'directions', place=prayer, direction=direction) == f'기도실은 {direction}에 있습니다.'
    assert ko(replies, 'directions', place=food, direction=direction) == f'푸드코트는 {direction}에 있습니다.'
    assert ko(replies, 'first_aid', place='응급 의료소', direction=direction).startswith('응급 의료소는 ')


def test_korean_particle_after_a_parenthesis_follows_the_word_before_it(replies, seed):
    entrance = seed['entrances']['entrance_a']['names']['ko']
    assert entrance == 'A 출입구 (남쪽 광장)'
    assert ko(replies, 'staff', entrance=entrance).startswith('A 출입구 (남쪽 광장)로 직원을 불렀습니다.')
    assert finish('ko', '식당 (B구역)(으)로 가세요') == '식당 (B구역)으로 가세요'


def test_korean_particle_after_a_latin_name_and_in_the_booking_reply(replies):
    booked = ko(replies, 'booked', exhibitor='LionSat', day='9월 18일', start='10:30', hall='인공지능 전시구역',
                booth='D2-018', code='K7Q2')
    assert booked.startswith('LionSat과의 미팅이 9월 18일 10:30에 예약되었습니다.')
    assert ko(replies, 'cancelled', exhibitor='Huawei', start='10:30') == 'Huawei와의 10:30 미팅이 취소되었습니다.'
    assert finish('ko', 'iFlytek와(과)') == 'iFlytek과' and finish('ko', 'Alibaba Cloud와(과)') == 'Alibaba Cloud와'
    assert finish('ko', 'TCL와(과) AI은(는)') == 'TCL과 AI는'      # initialisms by letter names: 엘, 아이


@pytest.mark.parametrize('text, expected', [
    ('식당(으)로', '식당으로'), ('출입구(으)로', '출입구로'), ('서울(으)로', '서울로'), ('2층(으)로', '2층으로'),
    ('기도실(으)로', '기도실로'), ('1(으)로', '1로'), ('3(으)로', '3으로'), ('2(으)로', '2로'), ('10(으)로', '10으로'),
    ('6번 출구(으)로', '6번 출구로'), ('게이트 7(으)로', '게이트 7로'), ('8(으)로', '8로'), ('0(으)로', '0으로'),
    ('기도실(이)에요', '기도실이에요'), ('푸드코트(이)에요', '푸드코트예요'), ('커피(이)나 쌀(이)나', '커피나 쌀이나'),
    ('두리안을(를) 찾아요', '두리안을 찾아요'), ('커피을(를) 찾아요', '커피를 찾아요'),
    ('버스이(가) 와요', '버스가 와요'), ('셔틀버스 정류장이(가) 있어요', '셔틀버스 정류장이 있어요'),
    ('"기도실"은(는)', '"기도실"은'),
])
def test_korean_particle_forms(text, expected):
    assert finish('ko', text) == expected


def test_clarifying_question_in_korean_joins_two_labels(replies):
    labels = replies['ko']['labels']
    question = ko(replies, 'clarify', a=labels['hours'], b=labels['directions'])
    assert question == '운영 시간과 길 안내 중 어느 쪽을 말씀하시는 건가요?'
    question = ko(replies, 'clarify', a=labels['toilet'], b=labels['prayer'])
    assert question.startswith('화장실과 기도실 중')


def test_particles_are_resolved_only_in_korean():
    assert finish('zh', '洗手间(으)로') == '洗手间(으)로'


# -- tidy -------------------------------------------------------------------------------------------

@pytest.mark.parametrize('language, text, expected', [
    ('en', 'Yes, it is at the Food Court, .', 'Yes, it is at the Food Court.'),
    ('en', 'at booth  in the AI Zone', 'at booth in the AI Zone'),
    ('en', 'The Food Court () is ahead.', 'The Food Court is ahead.'),
    ('en', 'Your meeting with Angkor Golden Rice Co., Ltd.. Your code is K7Q2.',
     'Your meeting with Angkor Golden Rice Co., Ltd. Your code is K7Q2.'),
    ('zh', '失物招领处在服务中心，。', '失物招领处在服务中心。'),
    ('zh', '免费接驳巴士从停车场（）开往地铁站。', '免费接驳巴士从停车场开往地铁站。'),
    ('km', 'បន្ទប់បួងសួង៖ ។', 'បន្ទប់បួងសួង។'),
    ('my', 'ဝတ်ပြုခန်း၊ ။', 'ဝတ်ပြုခန်း။'),
    ('vi', ', Quý khách vui lòng chờ ạ.', 'Quý khách vui lòng chờ ạ.'),
])
def test_tidy_removes_what_empty_placeholders_leave(language, text, expected):
    assert finish(language, text) == expected


@pytest.mark.parametrize('text', ['10:30–11:00', 'Wait...', 'Co., Ltd.', 'A; B; C', '09:00 – 18:00', 'Wi-Fi: on'])
def test_tidy_keeps_clean_text(text):
    assert tidy(text) == text


def test_every_filled_template_is_already_tidy(replies, seed):
    """Real values in every template of every language: finish changes nothing but Korean particles."""
    values = {'place': 'X1', 'direction': 'D2', 'thing': 'T3', 'asked': 'A4', 'exhibitor': 'E5', 'start': '10:30',
              'day': '18/9', 'slots': '11:00; 11:30', 'items': 'I6', 'count': 3, 'booth': 'D2-018', 'hall': 'H7',
              'code': 'K7Q2', 'entrance': 'N8', 'a': 'L9', 'b': 'L10', 'first_day': '17/9', 'last_day': '21/9',
              **seed['facts']}
    for language in LANGUAGES:
        for key, template in replies[language]['replies'].items():
            text = template.format(**values)
            if language == 'ko':
                assert not re.search(r'\((으|이)\)|\((는|가|를|과)\)', finish('ko', text)), (key, text)
            else:
                assert finish(language, text) == text, (language, key, text)


# -- the reply files ---------------------------------------------------------------------------------

def placeholders(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


FAQ_PLACE_KEYS = ('toilet', 'atm', 'charging', 'luggage', 'smoking', 'taxi', 'metro')
DAY_KEYS = ('slots', 'slots_none', 'events', 'events_none', 'ask_name', 'not_available')
TODAY = {'en': r'\btoday\b', 'vi': 'hôm nay', 'th': 'วันนี้', 'ms': 'hari ini', 'id': 'hari ini', 'fil': 'ngayon',
         'my': 'ဒီနေ့|ယနေ့', 'km': 'ថ្ងៃនេះ', 'lo': 'ມື້ນີ້', 'zh': '今天|今日', 'ko': '오늘'}


def test_every_language_has_every_reply_and_label_with_the_same_placeholders(replies):
    en = replies['en']
    for language in LANGUAGES:
        assert set(replies[language]['replies']) == set(REPLY_KEYS)
        assert set(replies[language]['labels']) == set(LABEL_KEYS)
        assert all(label.strip() for label in replies[language]['labels'].values())
        for key, template in replies[language]['replies'].items():
            assert placeholders(template) == placeholders(en['replies'][key]), (language, key)
    for key in FAQ_PLACE_KEYS + ('present_yes', 'present_elsewhere', 'exhibit'):
        assert {'place', 'direction'} <= placeholders(en['replies'][key]), key
    assert placeholders(en['replies']['clarify']) == {'a', 'b'}


def test_templates_for_any_day_name_the_day_and_never_say_today(replies):
    for language in LANGUAGES:
        for key in DAY_KEYS:
            template = replies[language]['replies'][key]
            assert '{day}' in template, (language, key)
            assert not re.search(TODAY[language], template), (language, key, template)


def test_numerals_are_ascii_in_every_reply_file(replies):
    native_digits = re.compile('[\u0e50-\u0e59\u0ed0-\u0ed9\u17e0-\u17e9\u1040-\u1049]')   # th lo km my
    for language in LANGUAGES:
        for group in ('words', 'replies', 'labels'):
            for key, text in replies[language][group].items():
                assert not native_digits.search(text), (language, group, key)


REGISTER = {  # (language, what no reply may contain: the curt forms the language review found)
    'vi': r'\bbạn\b', 'fil': r'\b(mo|ka|iyong|sa iyo)\b', 'ms': r'\bpetugas\b', 'km': 'តើអ្នក|របស់អ្នក|សុំទោស',
    'lo': r'ບໍ[?\s]|ຂ້ອຍ', 'my': 'သည်|၏|ယနေ့|သော |ဝမ်းနည်းပါတယ်|များ', 'zh': '还有空的时间', 'th': 'ค่ะ|คะ',
}


@pytest.mark.parametrize('language', sorted(REGISTER))
def test_replies_keep_the_polite_register_of_the_phrasebook(replies, language):
    for key, template in replies[language]['replies'].items():
        assert not re.search(REGISTER[language], template), (language, key, template)


def test_polite_particles_end_the_answers(replies):
    lists = {'events', 'taken', 'not_available'}   # end on the list itself
    for key, template in replies['th']['replies'].items():
        assert key in lists or 'ครับ' in template, key
    for key, template in replies['vi']['replies'].items():
        assert key in lists | {'wifi', 'present_yes', 'present_elsewhere', 'goodbye'} or 'ạ' in template, key
    for key, template in replies['my']['replies'].items():
        assert key in lists or 'ခင်ဗျာ' in template, key
    for key, template in replies['lo']['replies'].items():
        assert key in lists | {'goodbye'} or 'ເຈົ້າ' in template, key
    for key, template in replies['fil']['replies'].items():
        assert key in lists or re.search(r'\b(po|pong|Opo)\b', template), key


# -- keywords ---------------------------------------------------------------------------------------

def mentions(replies, text, language, intent):
    terms = replies[language]['keywords'].get(intent, [])
    if language != 'en':
        terms = terms + replies['en']['keywords'].get(intent, [])
    text = normalize(text)
    return any(contains_term(text, term, language) for term in terms)


@pytest.mark.parametrize('language, text, intent', [   # words the review found colliding
    ('vi', 'Tôi tìm nhà cung cấp đồ ăn halal', 'food'),
    ('vi', 'Tôi muốn tìm công ty an ninh mạng', 'wifi'),
    ('vi', 'nha cung cap thiet bi y te', 'first_aid'),
    ('zh', '我想找网络安全公司', 'wifi'),
    ('zh', '我要开发票', 'badge'),
    ('zh', '找榴莲供应商', 'staff'),
    ('km', 'ខ្ញុំមកពីបាត់ដំបង', 'lost_found'),
    ('fil', 'Bukas ba may forum?', 'hours'),
    ('th', 'ศูนย์ประชุมอยู่ที่ไหนครับ', 'meeting'),
    ('ms', 'Terima kasih, jumpa lagi', 'meeting'),
    ('ms', 'Saya cari pembekal makanan halal', 'food'),
    ('en', 'I am looking for halal food suppliers', 'food'),
    ('en', 'Where can I get a taxi?', 'transport'),
    ('zh', '地铁站在哪里', 'transport'),
    ('ko', '안녕히 계세요', 'greeting'),
    ('lo', 'ຂ້ອຍມາຈາກບ້ານ', 'abuse'),
])
def test_a_colliding_word_no_longer_routes_there(replies, language, text, intent):
    assert not mentions(replies, text, language, intent)


@pytest.mark.parametrize('language, text, intent', [
    ('th', 'ขอนัดประชุมกับบริษัทนี้ครับ', 'meeting'),
    ('ms', 'Saya nak jumpa wakil syarikat ini', 'meeting'),
    ('ms', 'Di mana bilik air?', 'toilet'),
    ('id', 'Mau ketemu dengan perusahaan kopi', 'meeting'),
    ('id', 'Kamar kecil di mana?', 'toilet'),
    ('id', 'ada WC?', 'toilet'),
    ('fil', 'Saan po ang CR?', 'toilet'),
    ('fil', 'may comfort room ba dito', 'toilet'),
    ('ko', '화장실 어디예요?', 'toilet'),
    ('vi', 'Tôi có thể ăn ở đâu ạ?', 'food'),
    ('vi', 'Tôi lấy thẻ ở đâu?', 'badge'),
    ('zh', '有无线网吗？', 'wifi'),
    ('zh', '哪里可以打车', 'taxi'),
    ('en', 'Where can I get a taxi?', 'taxi'),
    ('vi', 'ga tàu điện ngầm ở đâu', 'metro'),
    ('km', 'ខ្ញុំបាត់កាបូប', 'lost_found'),
    ('en', 'Where can I charge my phone?', 'charging'),
    ('zh', '我想存一下行李', 'luggage'),
    ('th', 'สูบบุหรี่ได้ที่ไหนครับ', 'smoking'),
    ('ms', 'Ada mesin ATM?', 'atm'),
    ('en', 'Hello, who are you?', 'greeting'),
    ('en', 'you are a stupid robot', 'abuse'),
    ('zh', '你真是个笨蛋', 'abuse'),
])
def test_visitors_words_route_to_the_topic(replies, language, text, intent):
    assert mentions(replies, text, language, intent)


def test_the_screens_quick_toilet_question_is_a_toilet_question_in_every_language(replies):
    book = Phrasebook.load()
    for language in LANGUAGES:
        question = book.say('quick_toilets', language).text
        assert mentions(replies, question, language, 'toilet'), (language, question)
        assert not mentions(replies, question, language, 'transport'), (language, question)
