"""The screen's pure bridge (no rclpy, no server): typed messages -> page frames, page frames -> typed
messages, and every refusal of docs/screen.md counted with the bridge still working."""
from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.messages import (
    HearableLanguages,
    HeardSpeech,
    LanguageChosen,
    ScreenAction,
    ScreenCard,
    ScreenText,
    SpeechEvent,
    TypedQuestion,
)
from caexpo_robot.screen.bridge import BOOKING_KEY, ScreenBridge, frame_text, qr_svg

PHRASEBOOK = Phrasebook.load()


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def bridge(**kwargs) -> tuple[ScreenBridge, Clock]:
    clock = Clock()
    return ScreenBridge(PHRASEBOOK, clock=clock, **kwargs), clock


def send(b: ScreenBridge, conn, frame) -> list:
    result = b.from_page(conn, frame if isinstance(frame, str) else json.dumps(frame))
    assert not result.close
    return result.messages


def test_hello_names_every_language_with_its_screen_and_quick_phrases():
    b, _ = bridge()
    hello = b.hello()
    assert hello['type'] == 'hello' and hello['version'] == 1
    assert [lang['code'] for lang in hello['languages']] == list(LANGUAGES)
    assert {lang['native_name'] for lang in hello['languages']} >= {'ภาษาไทย', 'ភាសាខ្មែរ', 'ພາສາລາວ', '中文'}
    assert set(hello['phrases']) == set(LANGUAGES)
    keys = [k for k in PHRASEBOOK.keys() if k.startswith(('screen_', 'quick_')) or k == BOOKING_KEY]
    for code in LANGUAGES:
        assert sorted(hello['phrases'][code]) == sorted(keys)
        for key in keys:
            if '{' not in PHRASEBOOK.say(key, 'en', time='{time}').text:
                assert hello['phrases'][code][key] == PHRASEBOOK.say(key, code).text
    assert hello['quick_questions'] == [k for k in keys if k.startswith('quick_')]
    assert 'opener' not in hello['phrases']['en']      # only the screen's keys
    b.on_hearable(HearableLanguages(hearable=['ko', 'en']))
    assert b.hello()['hearable'] == ['ko', 'en']
    json.loads(frame_text(hello))                        # serialisable as sent


def test_ros_messages_become_page_frames():
    b, _ = bridge()
    card = ScreenCard(t=1.0, kind='greeting', visitor='v1', languages=['zh', 'en'])
    frames = b.on_card(card)
    assert frames[0]['type'] == 'card' and frames[0]['kind'] == 'greeting' and frames[0]['languages'] == ['zh', 'en']
    assert b.on_heard(HeardSpeech(text='xin chào', language='vi', final=False)) == [
        {'type': 'caption', 'who': 'visitor', 'text': 'xin chào', 'language': 'vi', 'final': False}]
    robot = b.on_speech(SpeechEvent(t=2.0, type='utterance_started', id='u1', language='en', text='Hello!'))
    assert robot == [{'type': 'caption', 'who': 'robot', 'text': 'Hello!', 'language': 'en', 'final': True}]
    assert b.on_speech(SpeechEvent(t=3.0, type='utterance_finished', id='u1', language='en')) == []
    assert b.on_screen_text(ScreenText(text='សួស្តី', language='km')) == [
        {'type': 'screen_text', 'text': 'សួស្តី', 'language': 'km'}]
    assert b.on_speaking(True) == [{'type': 'state', 'speaking': True, 'staff': None}]
    # A page connecting now sees the card, the state and the conversation's final captions.
    snapshot = b.snapshot()
    assert [f['type'] for f in snapshot] == ['hello', 'card', 'state', 'caption']
    assert snapshot[2]['speaking'] is True and snapshot[3]['text'] == 'Hello!'
    b.on_card(ScreenCard(t=9.0, kind='attract'))          # the conversation is over: captions forgotten
    assert [f['type'] for f in b.snapshot()] == ['hello', 'card', 'state']


def test_a_booked_meeting_card_carries_a_qr_code_of_its_code():
    b, _ = bridge()
    booked = ScreenAction(type='meeting_booked', id='m1', code='A1B2C3', exhibitor_id='ex-1', start='10:30')
    frames = b.on_card(ScreenCard(t=1.0, kind='answer', visitor='v1', language='th', text='Booked.',
                                  actions=[booked]))
    assert [f['type'] for f in frames] == ['card', 'qr']
    assert frames[0]['actions'][0]['code'] == 'A1B2C3'
    assert frames[1]['for'] == 'A1B2C3'
    root = ET.fromstring(frames[1]['svg'])
    assert root.tag == '{http://www.w3.org/2000/svg}svg'
    assert not any(el.tag.endswith(('script', 'foreignObject')) for el in root.iter())
    # A code that could hold markup gets no QR code (and the card is still shown, as text).
    evil = ScreenAction(type='meeting_booked', id='m2', code='<script>x</script>', exhibitor_id='e', start='10:30')
    frames = b.on_card(ScreenCard(t=2.0, kind='answer', actions=[evil]))
    assert [f['type'] for f in frames] == ['card']
    for bad in ('', 'a b', '<svg>', 'x' * 65, 'é'):
        with pytest.raises(ValueError):
            qr_svg(bad)


def test_page_frames_become_typed_messages():
    b, _ = bridge(max_frames_per_s=100.0)
    conn = b.connect()
    assert send(b, conn, {'type': 'choose_language', 'language': 'th'}) == [LanguageChosen(language='th')]
    b.on_card(ScreenCard(t=1.0, kind='listening', visitor='v7', language='th'))
    assert send(b, conn, {'type': 'choose_language', 'language': 'lo'}) == [LanguageChosen(language='lo', visitor='v7')]
    xss = '<img src=x onerror=alert(1)>'
    assert send(b, conn, {'type': 'ask', 'text': f'  {xss} ', 'language': None}) == [
        TypedQuestion(text=xss, visitor='v7', via='typed')]
    for key in b.quick_questions:
        [question] = send(b, conn, {'type': 'quick', 'key': key, 'language': 'vi'})
        assert question == TypedQuestion(text=PHRASEBOOK.say(key, 'vi').text, language='vi', visitor='v7', via='tap')
    [question] = send(b, conn, {'type': 'book', 'exhibitor_id': 'ex-12', 'day': '2026-09-17', 'start': '10:30',
                                'language': 'th'})
    assert question.via == 'tap' and question.language == 'th' and question.visitor == 'v7'
    assert '10:30' in question.text and '{' not in question.text
    if BOOKING_KEY in PHRASEBOOK.keys():
        assert question.text == PHRASEBOOK.say(BOOKING_KEY, 'th', time='10:30').text
    assert b.counters['accepted_book'] == 1 and b.counters['frames_in'] == 4 + len(b.quick_questions)


BAD_FRAMES = [
    ('not json', 'malformed'),
    ('[1, 2]', 'malformed'),
    ('{"type": "ask", "text": "hi", "language": "th"', 'malformed'),
    (json.dumps({'type': 'explode'}), 'unknown'),
    (json.dumps({'type': 'ask', 'text': 'hi', 'extra': 1}), 'invalid'),
    (json.dumps({'type': 'ask', 'text': ''}), 'invalid'),
    (json.dumps({'type': 'ask', 'text': 'x' * 2001}), 'invalid'),
    (json.dumps({'type': 'ask', 'text': 'bell\u0007'}), 'invalid'),
    (json.dumps({'type': 'ask', 'text': 5}), 'invalid'),
    (json.dumps({'type': 'ask', 'text': '   '}), 'empty'),
    (json.dumps({'type': 'choose_language', 'language': 'xx'}), 'invalid'),
    (json.dumps({'type': 'choose_language', 'language': 'th', 'version': True}), 'invalid'),
    (json.dumps({'type': 'quick', 'key': 'opener', 'language': 'th'}), 'invalid'),
    (json.dumps({'type': 'quick', 'key': 'quick_nonexistent', 'language': 'th'}), 'unknown_key'),
    (json.dumps({'type': 'book', 'exhibitor_id': 'e', 'day': '2026-02-30', 'start': '10:30'}), 'invalid'),
    (json.dumps({'type': 'book', 'exhibitor_id': 'e', 'day': '2026-09-17', 'start': '25:00'}), 'invalid'),
    (json.dumps({'type': 'book', 'exhibitor_id': '<b>', 'day': '2026-09-17', 'start': '10:30'}), 'invalid'),
    ('[' * 100_000, 'too_large'),
    (json.dumps({'type': 'ask', 'text': 'ก' * 1500}), 'too_large'),   # 1,500 characters, 4.5 kB in UTF-8
    (b'{"type": "ask", "text": "hi"}', 'binary'),
    (None, 'binary'),
]


@pytest.mark.parametrize('data,reason', BAD_FRAMES)
def test_bad_frames_are_counted_drops(data, reason):
    b, clock = bridge()
    conn = b.connect()
    result = b.from_page(conn, data)
    assert (result.messages, result.dropped, result.close) == ([], reason, False)
    assert b.counters[f'dropped_{reason}'] == 1
    clock.t += 1.0
    assert send(b, conn, {'type': 'ask', 'text': 'still here'})   # the next good frame still goes through


def test_rate_limit_per_connection_then_a_flooding_connection_is_closed():
    b, clock = bridge(max_frames_per_s=10.0, flood_close_frames=30)
    flooder, other = b.connect(), b.connect()
    frame = json.dumps({'type': 'ask', 'text': 'hi'})
    results = [b.from_page(flooder, frame) for _ in range(25)]          # all at one instant
    assert sum(bool(r.messages) for r in results) == 10                 # a burst of one second's worth
    assert b.counters['dropped_rate'] == 15 and not any(r.close for r in results)
    assert b.from_page(other, frame).messages                           # the limit is per connection
    clock.t += 0.5                                                      # 5 more tokens
    results = [b.from_page(flooder, frame) for _ in range(5)]
    assert all(r.messages for r in results)
    results = [b.from_page(flooder, frame) for _ in range(15)]          # 30 refused within 5 s: close
    assert [r.close for r in results] == [False] * 14 + [True]
    assert b.counters['closed_flooding'] == 1
    clock.t += 10.0                                                     # a page at the allowed pace
    for _ in range(50):
        clock.t += 0.1
        assert b.from_page(other, frame).messages


def test_max_clients():
    b, _ = bridge(max_clients=2)
    first, second = b.connect(), b.connect()
    assert first and second and b.connect() is None and b.counters['refused_clients'] == 1
    b.disconnect(first)
    assert b.connect() is not None and b.clients == 2
