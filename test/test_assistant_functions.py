"""Every function of the reference assistant, asked in several languages through the conversational
endpoint of a real server on loopback: the reply must be in the visitor's script and carry the facts."""
import re
import unicodedata

import pytest

from caexpo_robot.backend.contract import SPOKEN_CHARS

DAY = '2025-09-17'

SCRIPTS = {'th': (0x0E00, 0x0E7F), 'lo': (0x0E80, 0x0EFF), 'my': (0x1000, 0x109F), 'km': (0x1780, 0x17FF),
           'zh': (0x4E00, 0x9FFF), 'ko': (0xAC00, 0xD7AF)}
VIETNAMESE = set('ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ')
LATIN_MARKERS = {'ms': {'anda', 'di', 'dan', 'saya', 'maaf', 'terletak', 'hari', 'pukul', 'sila'},
                 'id': {'anda', 'di', 'dan', 'saya', 'maaf', 'ada', 'hari', 'pukul', 'mohon'},
                 'fil': {'ang', 'sa', 'mo', 'ng', 'ay', 'na', 'paumanhin', 'mga'},
                 'en': {'the', 'is', 'you', 'your', 'to', 'from', 'at', 'in', 'please', 'would'}}


def assert_in_language(text: str, language: str) -> None:
    """The reply is written in the visitor's language's script (names of foreign firms may stay Latin)."""
    letters = [c for c in text if unicodedata.category(c).startswith('L')]
    assert letters, text
    if language in SCRIPTS:
        low, high = SCRIPTS[language]
        share = sum(low <= ord(c) <= high for c in letters) / len(letters)
        assert share >= 0.35, f'{language} reply mostly not in its script ({share:.0%}): {text}'
    elif language == 'vi':
        assert sum(c in VIETNAMESE for c in text.lower()) >= 3, f'not Vietnamese: {text}'
    else:
        assert all(ord(c) < 0x2E80 for c in letters), f'{language} reply has CJK/SEA script: {text}'
        words = set(re.findall(r'\w+', text.lower()))
        assert words & LATIN_MARKERS[language], f'no {language} function words in: {text}'


def open_session(http, language, entrance='entrance_a', robot='robot-test'):
    response = http.post('/v1/sessions', json={'robot_id': robot, 'entrance': entrance, 'language': language})
    assert response.status_code == 201, response.text
    return response.json()['session_id']


def ask(http, text, language, session=None, entrance='entrance_a', visitor=None):
    session = session or open_session(http, language, entrance)
    body = {'text': text, 'language': language}
    if visitor:
        body['visitor'] = visitor
    response = http.post(f'/v1/sessions/{session}/turns', json=body)
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply['language'] == language and reply['reply'].strip()
    assert_in_language(reply['reply'], language)
    # The robot says the compact form (about 10 s at most); the full reply is for its screen.
    assert reply['spoken'] and len(reply['spoken']) <= min(len(reply['reply']), SPOKEN_CHARS[language])
    return reply


FAQ = [  # (language, question, topic, a fact the answer must contain)
    ('en', 'What time does the expo open?', 'hours', '09:00'),
    ('vi', 'Mấy giờ mở cửa?', 'hours', '18:00'),
    ('zh', '博览会几点开门？', 'hours', '09:00'),
    ('th', 'งานเปิดกี่โมง', 'hours', '18:00'),
    ('ko', '운영 시간이 어떻게 되나요?', 'hours', '09:00'),
    ('en', 'Is there free wifi?', 'wifi', 'CAEXPO-Free-WiFi'),
    ('vi', 'Có wifi không?', 'wifi', 'CAEXPO-Free-WiFi'),
    ('zh', '有无线网吗？', 'wifi', 'CAEXPO-Free-WiFi'),
    ('ms', 'Ada wifi percuma?', 'wifi', 'CAEXPO-Free-WiFi'),
    ('en', 'Is there a shuttle bus to the metro?', 'transport', '15'),
    ('th', 'มีรถรับส่งไหม', 'transport', 'จุดจอดรถรับส่ง'),
    ('ko', '셔틀버스 있어요?', 'transport', '셔틀버스 정류장'),
    ('en', 'Where do I get my badge?', 'badge', 'Badge and Registration Centre'),
    ('vi', 'Tôi lấy thẻ ở đâu?', 'badge', 'Trung tâm đăng ký và cấp thẻ'),
    ('zh', '在哪里办理证件？', 'badge', '证件办理与注册中心'),
    ('en', 'I am hungry, where can I eat?', 'food', 'Food Court'),
    ('vi', 'Tôi đói, ăn ở đâu?', 'food', 'Khu ẩm thực'),
    ('zh', '哪里可以吃饭？', 'food', '美食广场'),
    ('id', 'Saya lapar, di mana bisa makan?', 'food', 'Pujasera'),
    ('en', 'I lost my bag', 'lost_found', 'Visitor Service Centre'),
    ('vi', 'Tôi bị mất đồ', 'lost_found', 'Trung tâm dịch vụ khách tham quan'),
    ('ko', '가방을 잃어버렸어요', 'lost_found', '관람객 서비스센터'),
    ('en', 'I need a doctor', 'first_aid', 'First-Aid Station'),
    ('zh', '我需要医生', 'first_aid', '医疗急救站'),
    ('th', 'ต้องการหมอ', 'first_aid', 'จุดปฐมพยาบาล'),
    ('en', 'Is there a prayer room?', 'prayer', 'Prayer Room'),
    ('ms', 'Saya mahu solat', 'prayer', 'Surau'),
    ('id', 'Saya mau sholat', 'prayer', 'Musala'),
    ('vi', 'Có phòng cầu nguyện không?', 'prayer', 'Phòng cầu nguyện'),
]


@pytest.mark.parametrize('language,question,topic,fact', FAQ)
def test_customer_service_faq(http, language, question, topic, fact):
    reply = ask(http, question, language)
    assert reply['intent'] == 'faq', reply
    assert fact in reply['reply'], reply['reply']
    if topic not in ('hours', 'wifi'):  # the place answers also say where it is from this entrance
        assert re.search(r'\d{2,3}', reply['reply'].replace(fact, '')), reply['reply']
        assert reply['actions'][0]['type'] == 'show_map'


DIRECTIONS = [
    ('en', 'Where is the AI zone?', '360 metres ahead on your right'),
    ('vi', 'Khu trí tuệ nhân tạo ở đâu?', '360 mét, phía trước bên phải'),
    ('zh', '人工智能专区在哪里？', '右前方约360米'),
    ('th', 'โซนปัญญาประดิษฐ์อยู่ที่ไหน', '360 เมตร ข้างหน้าทางขวา'),
    ('ko', 'AI 전시구역은 어디에 있어요?', '오른쪽 앞 방향으로 약 360미터'),
    ('km', 'តំបន់បញ្ញាសិប្បនិម្មិតនៅឯណា', '360 ម៉ែត្រ ខាងមុខ ខាងស្តាំ'),
]


@pytest.mark.parametrize('language,question,phrase', DIRECTIONS)
def test_directions_from_the_robots_entrance(http, language, question, phrase):
    reply = ask(http, question, language)
    assert reply['intent'] == 'directions'
    assert phrase in reply['reply'], reply['reply']
    action = reply['actions'][0]
    assert action == {**action, 'type': 'show_map', 'place': 'ai_zone', 'hall': 'D', 'from_entrance': 'entrance_a',
                      'distance_m': 360, 'bearing': 'ahead_right'}


def test_directions_depend_on_the_entrance_and_floor(http):
    reply = ask(http, 'Where is the AI zone?', 'en', entrance='entrance_c')
    assert '200 metres ahead on your left' in reply['reply'], reply['reply']
    reply = ask(http, '论坛1厅怎么走？', 'zh', entrance='entrance_c')
    assert '论坛1厅' in reply['reply'] and '在2楼' in reply['reply'], reply['reply']
    reply = ask(http, 'Where is the Malaysia pavilion?', 'en')
    assert reply['actions'][0]['place'] == 'zone_a' and 'ASEAN Country Pavilions' in reply['reply']


MATCHMAKING = [  # (language, question, booths that must be listed, booths that must not)
    ('en', 'I am looking for durian suppliers', {'A3-008', 'A4-015'}, {'A5-010'}),
    ('vi', 'Tôi muốn tìm nhà cung cấp sầu riêng', {'A3-008', 'A4-015'}, set()),
    ('zh', '我想找榴莲供应商', {'A3-008', 'A4-015'}, set()),
    ('th', 'หาซัพพลายเออร์ทุเรียน', {'A3-008', 'A4-015'}, set()),
    ('ko', '두리안 업체를 찾고 있어요', {'A3-008', 'A4-015'}, set()),
    ('en', 'satellite communication companies', {'D1-001', 'D2-018'}, {'C1-001'}),
    ('zh', '卫星通信企业', {'D1-001', 'D2-018'}, set()),
    ('vi', 'Công ty vệ tinh', {'D1-001', 'D2-018'}, set()),
    ('en', 'green energy', {'C1-001', 'C1-105', 'C2-010'}, {'D1-001'}),
    ('ms', 'Saya mencari syarikat tenaga hijau', {'C1-001', 'C1-105', 'C2-010'}, set()),
    ('id', 'Saya mencari perusahaan energi hijau', {'C1-001', 'C1-105', 'C2-010'}, set()),
    ('en', 'companies from Malaysia', {'A3-008', 'A3-030', 'C1-105'}, {'A4-015', 'C1-001'}),
    ('en', 'durian from Malaysia', {'A3-008'}, {'A4-015'}),
    ('km', 'ខ្ញុំស្វែងរកអង្ករកម្ពុជា', {'A1-012'}, set()),
    ('lo', 'ຊອກຫາບໍລິສັດກາເຟ', {'A7-011', 'A5-010', 'A2-031'}, set()),
    ('my', 'ဒူးရင်း ကုမ္ပဏီ ရှာနေပါတယ်', {'A3-008', 'A4-015'}, set()),
    ('fil', 'Naghahanap ng supplier ng durian', {'A3-008', 'A4-015'}, set()),
]


@pytest.mark.parametrize('language,question,booths,not_booths', MATCHMAKING)
def test_business_matchmaking(http, language, question, booths, not_booths):
    reply = ask(http, question, language)
    assert reply['intent'] == 'matchmaking'
    listed = {item['booth'] for item in reply['actions'][0]['items']}
    assert booths <= listed and not (not_booths & listed), listed
    spoken = set(re.findall(r'[A-D]\d-\d{3}', reply['reply']))
    assert spoken and spoken <= listed and (booths & spoken), reply['reply']


def test_matchmaking_ranks_the_named_product_first(http):
    reply = ask(http, 'Saya mencari kopi luwak', 'id')
    assert reply['actions'][0]['items'][0]['id'] == 'nusantara-luwak-coffee'


def test_structured_exhibitor_search_and_detail(http):
    found = http.get('/v1/exhibitors', params={'q': 'sầu riêng Malaysia', 'language': 'vi'}).json()
    assert [e['id'] for e in found] == ['musang-king-durian']
    assert found[0]['hall_name'] == 'Khu gian hàng các nước ASEAN (Khu A)'
    detail = http.get('/v1/exhibitors/liuzhou-ev').json()
    assert detail['booth'] == 'C2-010' and detail['country'] == 'CN'


def test_meeting_slots_book_taken_cancel_in_english(http):
    visitor = open_session(http, 'en')
    reply = ask(http, 'I would like to book a meeting with Sarawak Solar', 'en', visitor)
    assert reply['intent'] == 'meeting_slots' and '10:00' in reply['reply']
    assert reply['actions'][0]['exhibitor_id'] == 'sarawak-solar'
    reply = ask(http, 'Book 10:30 please', 'en', visitor, visitor={'name': 'Nguyen Van An'})
    assert reply['intent'] == 'meeting_booked', reply
    booking = reply['actions'][0]
    assert booking['start'] == '10:30' and booking['booth'] == 'C1-105' and booking['code'] in reply['reply']
    # the robot's screen gets the booking, never the visitor's name or contact; the booking itself has them
    assert 'visitor_name' not in booking and 'contact' not in booking
    stored = http.get(f'/v1/meetings/{booking["id"]}', params={'session_id': visitor}).json()
    assert stored['visitor_name'] == 'Nguyen Van An'
    other = open_session(http, 'en')
    reply = ask(http, 'Book a meeting with Sarawak Solar at 10:30', 'en', other)
    assert reply['intent'] == 'meeting_taken' and '10:30' in reply['reply'] and 'already taken' in reply['reply']
    assert '10:30' not in reply['actions'][0]['slots']
    reply = ask(http, 'Please cancel my meeting', 'en', visitor)
    assert reply['intent'] == 'meeting_cancelled' and reply['actions'][0]['status'] == 'cancelled'
    assert http.get(f'/v1/meetings/{booking["id"]}', params={'session_id': visitor}).json()['status'] == 'cancelled'
    reply = ask(http, 'Book a meeting with Sarawak Solar at 10:30', 'en', other)
    assert reply['intent'] == 'meeting_details' and '10:30' in reply['reply']   # the name first
    reply = ask(http, 'my name is Siti Rahman', 'en', other)
    assert reply['intent'] == 'meeting_booked' and reply['actions'][0]['start'] == '10:30'
    assert 'contact' not in reply['actions'][0] and 'visitor_name' not in reply['actions'][0]


@pytest.mark.parametrize('language,question,start,booth,name', [
    ('vi', 'Tôi muốn đặt lịch hẹn với Buon Ma Thuot Coffee lúc 14:30', '14:30', 'A5-010', 'Tôi tên là Nguyễn Văn An'),
    ('zh', '我想预约猫山王榴莲，15:00', '15:00', 'A3-008', '我叫王伟'),
    ('th', 'ขอนัดหมายกับ Chanthaburi Durian เวลา 10:30', '10:30', 'A4-015', 'ผมชื่อสมชายครับ'),
    ('ko', 'Liubao Tea와 11:00에 미팅 예약하고 싶어요', '11:00', 'B1-006', '제 이름은 김민수입니다'),
])
def test_meeting_booking_in_other_languages(http, language, question, start, booth, name):
    visitor = open_session(http, language)
    reply = ask(http, question, language, visitor)
    assert reply['intent'] == 'meeting_details' and start in reply['reply'], reply   # asks the name first
    reply = ask(http, name, language, visitor)
    assert reply['intent'] == 'meeting_booked', reply
    assert start in reply['reply'] and booth in reply['reply']
    slots = http.get(f'/v1/exhibitors/{reply["actions"][0]["exhibitor_id"]}/slots', params={'day': DAY}).json()
    assert [s['free'] for s in slots if s['start'] == start] == [False]


@pytest.mark.parametrize('language,question,title', [
    ('en', 'What events are on today?', 'Opening Ceremony of the 22nd China-ASEAN Expo'),
    ('vi', 'Hôm nay có sự kiện gì?', 'Lễ khai mạc Hội chợ Trung Quốc - ASEAN lần thứ 22'),
    ('zh', '今天有什么活动？', '第22届中国—东盟博览会开幕式'),
    ('th', 'วันนี้มีกิจกรรมอะไรบ้าง', 'พิธีเปิดงานมหกรรมแสดงสินค้าจีน-อาเซียน ครั้งที่ 22'),
    ('ko', '오늘 행사 일정 알려 주세요', '제22회 중국-아세안 박람회 개막식'),
])
def test_todays_events(http, language, question, title):
    reply = ask(http, question, language)
    assert reply['intent'] == 'events'
    assert title in reply['reply'] and '09:30' in reply['reply'] and '14:00' in reply['reply']
    assert [e['id'] for e in reply['actions'][0]['items']][:2] == ['opening-ceremony', 'business-summit']
    structured = http.get('/v1/events', params={'day': '2025-09-18', 'language': language}).json()
    assert [e['id'] for e in structured] == ['digital-economy-forum', 'ai-ministerial-forum', 'green-energy-forum']


@pytest.mark.parametrize('language,question', [
    ('en', 'Can I talk to a staff member?'), ('vi', 'Cho tôi gặp nhân viên'), ('zh', '请帮我叫工作人员'),
    ('th', 'เรียกเจ้าหน้าที่หน่อย'), ('ko', '직원 좀 불러 주세요'),
])
def test_call_staff_records_a_request_at_the_entrance(http, assistant, language, question):
    reply = ask(http, question, language, entrance='entrance_d')
    assert reply['intent'] == 'call_staff'
    request_id = reply['actions'][0]['request_id']
    pending = http.get('/v1/staff-requests', params={'entrance': 'entrance_d'}, headers=assistant.headers()).json()
    mine = [r for r in pending if r['id'] == request_id]
    assert mine and mine[0]['language'] == language and mine[0]['reason'] == question


@pytest.mark.parametrize('language,question', [
    ('en', 'What is the meaning of life?'), ('vi', 'Thời tiết ngày mai thế nào?'), ('zh', '明天天气怎么样？'),
    ('th', 'พรุ่งนี้อากาศเป็นอย่างไร'), ('ko', '내일 날씨 어때요?'), ('lo', 'ມື້ອື່ນອາກາດເປັນແນວໃດ'),
])
def test_unknown_questions_get_a_polite_answer_and_the_staff_offer(http, language, question):
    reply = ask(http, question, language)
    assert reply['intent'] == 'unknown' and reply['actions'] == [{'type': 'offer_call_staff'}]


def test_goodbye_ends_the_session(http):
    reply = ask(http, 'Cảm ơn, tạm biệt!', 'vi')
    assert reply['intent'] == 'goodbye' and reply['end_session'] is True


def test_every_language_answers_every_reply_template(http):
    """All 11 languages route their own keywords and fill every template without a KeyError."""
    questions = {'vi': 'wifi', 'th': 'ไวไฟ', 'ms': 'wifi', 'id': 'wifi', 'fil': 'wifi', 'my': 'ဝိုင်ဖိုင်',
                 'km': 'វ៉ាយហ្វាយ', 'lo': 'ໄວຟາຍ', 'zh': '无线网', 'en': 'wifi', 'ko': '와이파이'}
    for language, question in questions.items():
        assert 'CAEXPO-Free-WiFi' in ask(http, question, language)['reply']
        for text in ('durian', 'AI zone', 'xyzzy'):
            ask(http, text, language)


@pytest.mark.parametrize('language, question', [
    ('en', 'I am looking for durian suppliers'), ('vi', 'Tôi muốn tìm nhà xuất khẩu sầu riêng'),
    ('th', 'อยากหาผู้ส่งออกทุเรียน'), ('zh', '我想找榴莲供应商'), ('en', "What events are on today?"),
    ('ko', '오늘 행사가 뭐가 있어요?'), ('ms', 'Apakah acara hari ini?')])
def test_lists_are_said_short_with_the_top_three_and_shown_in_full(http, language, question):
    """Espeak-ng says the spoken form in at most about 10 s; the full list stays in the reply and the action."""
    from caexpo_robot.sim.synthetic_audio import synthesize_speech
    from caexpo_robot.speaking.voices import VoiceTable
    reply = ask(http, question, language)
    assert reply['intent'] in ('matchmaking', 'events') and reply['actions'], reply
    items = reply['actions'][0]['items']
    named = [item.get('local_name') or item.get('title') for item in items]
    assert any(name in reply['spoken'] for name in named[:3])
    assert not any(name in reply['spoken'] for name in named[3:] if not any(name in n for n in named[:3]))
    plan = VoiceTable.load().plan(reply['spoken'], language)
    seconds = len(synthesize_speech(plan.spoken_text, plan.voice, plan.rate_wpm)) / 2 / 16000
    assert seconds <= 10.5, (seconds, reply['spoken'])
