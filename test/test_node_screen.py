"""The screen node in a real ROS graph with real WebSocket clients (a page's side of docs/screen.md)."""
from __future__ import annotations

import json
import os
from contextlib import ExitStack
from functools import partial
from pathlib import Path

import httpx
import pytest
from rclpy.parameter import Parameter
from std_msgs.msg import Bool
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

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
from caexpo_robot.nodes.common import LATCHED
from caexpo_robot.nodes.screen_node import ScreenNode
from ros_harness import ros_graph

SECRET = 'my passport number is K1234567 <img src=x onerror=alert(1)>'


class Page:
    """A page's WebSocket: frames received are collected while the test spins the graph."""
    def __init__(self, g, port: int) -> None:
        self.g = g
        self.ws = g.pages.enter_context(connect(f'ws://127.0.0.1:{port}/ws', max_size=None, open_timeout=5))
        self.frames: list[dict] = []
        self.close_code: int | None = None

    def pump(self) -> None:
        while self.close_code is None:
            try:
                self.frames.append(json.loads(self.ws.recv(timeout=0)))
            except TimeoutError:
                return
            except ConnectionClosed as exc:
                self.close_code = exc.rcvd.code if exc.rcvd else -1

    def wait_for(self, predicate, timeout: float = 10.0) -> dict:
        def found():
            self.pump()
            return next((f for f in self.frames if predicate(f)), None)
        assert self.g.spin_until(lambda: found() is not None, timeout), f'no such frame in {self.frames[-5:]}'
        return found()

    def send(self, frame) -> None:
        self.ws.send(frame if isinstance(frame, (str, bytes)) else json.dumps(frame))


@pytest.fixture
def graph(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    factory = partial(ScreenNode, parameter_overrides=[Parameter('port', value=0),
                                                       Parameter('max_clients', value=3)])
    with ros_graph(factory) as g, ExitStack() as g.pages:
        yield g, g.nodes[0]


def test_bridges_ros_and_the_page_both_ways(graph, tmp_path):
    g, node = graph
    assert node.port and not node.problem
    base = f'http://127.0.0.1:{node.port}'
    assert httpx.get(f'{base}/healthz').json() == {'ok': True, 'clients': 0}
    index = httpx.get(f'{base}/')
    assert index.status_code == 200 and 'text/html' in index.headers['content-type']
    assert "script-src 'self'" in index.headers['content-security-policy']
    assert httpx.get(f'{base}/qr', params={'code': 'A1B2C3'}).headers['content-type'] == 'image/svg+xml'
    assert httpx.get(f'{base}/qr', params={'code': '<script>'}).status_code == 422

    chosen, typed = g.listen_messages(LanguageChosen), g.listen_messages(TypedQuestion)
    g.wait_until_heard(node.advertise(LanguageChosen), node.advertise(TypedQuestion))
    page = Page(g, node.port)
    hello = page.wait_for(lambda f: f['type'] == 'hello')
    assert [lang['code'] for lang in hello['languages']] == list(LANGUAGES) and len(LANGUAGES) == 11
    phrasebook = Phrasebook.load()
    assert hello['phrases']['th']['quick_toilets'] == phrasebook.say('quick_toilets', 'th').text
    assert '{time}' in hello['phrases']['th']['book_slot']
    assert hello['quick_questions'][0].startswith('quick_')

    # ROS -> page
    for model in (ScreenCard, HeardSpeech, SpeechEvent, ScreenText, HearableLanguages):
        g.wait_for_subscribers(g.typed_publisher(model))
    booked = ScreenAction(type='meeting_booked', id='m1', code='9F3A1C', exhibitor_id='ex-1', start='10:30')
    g.send(ScreenCard(t=1.0, kind='answer', visitor='v1', language='th', text='จองแล้ว', actions=[booked]))
    card = page.wait_for(lambda f: f['type'] == 'card')
    assert (card['kind'], card['visitor'], card['actions'][0]['code']) == ('answer', 'v1', '9F3A1C')
    assert page.wait_for(lambda f: f['type'] == 'qr')['svg'].startswith('<svg')
    g.send(HeardSpeech(text='ห้องน้ำอยู่ไหน', language='th', final=False))
    caption = page.wait_for(lambda f: f['type'] == 'caption' and f['who'] == 'visitor')
    assert (caption['text'], caption['final']) == ('ห้องน้ำอยู่ไหน', False)
    g.send(SpeechEvent(t=2.0, type='utterance_started', id='u1', language='th', text='ทางนี้ครับ'))
    assert page.wait_for(lambda f: f['type'] == 'caption' and f['who'] == 'robot')['text'] == 'ทางนี้ครับ'
    g.send(ScreenText(text='សូមអានអេក្រង់', language='km'))
    assert page.wait_for(lambda f: f['type'] == 'screen_text')['language'] == 'km'
    g.send(HearableLanguages(hearable=['ko']))
    page.wait_for(lambda f: f['type'] == 'hello' and f['hearable'] == ['ko'])
    speaking = g.publisher('tts/speaking', Bool, LATCHED)
    g.wait_for_subscribers(speaking)
    speaking.publish(Bool(data=True))
    page.wait_for(lambda f: f['type'] == 'state' and f['speaking'] is True)

    # page -> ROS (the card's visitor is the one addressed)
    page.send({'type': 'choose_language', 'language': 'lo'})
    assert g.spin_until(lambda: chosen) and chosen[0] == LanguageChosen(language='lo', visitor='v1')
    page.send({'type': 'ask', 'text': SECRET, 'language': 'en'})
    page.send({'type': 'quick', 'key': 'quick_toilets', 'language': 'th'})
    page.send({'type': 'book', 'exhibitor_id': 'ex-1', 'day': '2026-09-17', 'start': '14:00', 'language': 'vi'})
    assert g.spin_until(lambda: len(typed) == 3)
    assert typed[0] == TypedQuestion(text=SECRET, language='en', visitor='v1', via='typed')
    assert typed[1] == TypedQuestion(text=phrasebook.say('quick_toilets', 'th').text, language='th',
                                     visitor='v1', via='tap')
    assert typed[2] == TypedQuestion(text=phrasebook.say('book_slot', 'vi', time='14:00').text, language='vi',
                                     visitor='v1', via='tap')
    level, _, values = node.diagnostic_state()
    assert values['clients'] == 1 and values['frames_in'] == 4 and values['frames_out'] >= 8
    page.ws.close()

    # A page (re)connecting gets the current state at once.
    late = Page(g, node.port)
    late.wait_for(lambda f: f['type'] == 'card' and f['visitor'] == 'v1')
    late.wait_for(lambda f: f['type'] == 'state' and f['speaking'] is True)
    late.ws.close()

    # Nothing typed or heard was written to disk by the node (its working folder, the ROS logs).
    assert list(tmp_path.iterdir()) == []
    log_dir = Path(os.environ['ROS_LOG_DIR'])
    for path in log_dir.rglob('*') if log_dir.is_dir() else ():
        if path.is_file():
            assert 'K1234567' not in path.read_text(errors='replace'), path


def test_bad_and_flooding_pages_are_counted_drops_and_the_node_stays_up(graph):
    g, node = graph
    typed = g.listen_messages(TypedQuestion)
    g.wait_until_heard(node.advertise(TypedQuestion))
    page = Page(g, node.port)
    page.wait_for(lambda f: f['type'] == 'hello')
    for bad in ('{not json', json.dumps({'type': 'rm -rf'}), json.dumps({'type': 'ask', 'text': 'x', 'html': 1}),
                json.dumps({'type': 'ask', 'text': 'ก' * 1500}), b'\x00\x01'):
        page.send(bad)
    page.send({'type': 'ask', 'text': 'where is hall B?'})
    assert g.spin_until(lambda: typed) and typed[0].text == 'where is hall B?'
    counters = node.bridge.counters
    assert (counters['dropped_malformed'], counters['dropped_unknown'], counters['dropped_invalid'],
            counters['dropped_too_large'], counters['dropped_binary']) == (1, 1, 1, 1, 1)

    # A frame above the WebSocket layer's cap closes that connection (counted); others are unaffected.
    huge = Page(g, node.port)
    huge.send('x' * 100_000)
    assert g.spin_until(lambda: (huge.pump(), huge.close_code)[1] is not None)
    assert huge.close_code == 1009
    assert g.spin_until(lambda: counters['closed_too_large'] == 1)

    # A flood: past the rate, frames are dropped; one that keeps flooding is closed (1008).
    flooder = Page(g, node.port)
    flooder.wait_for(lambda f: f['type'] == 'hello')
    try:
        for _ in range(300):
            flooder.send({'type': 'ask', 'text': 'spam'})
    except ConnectionClosed:
        pass
    assert g.spin_until(lambda: (flooder.pump(), flooder.close_code)[1] is not None)
    assert flooder.close_code == 1008 and counters['closed_flooding'] == 1 and counters['dropped_rate'] >= 50
    assert g.spin_until(lambda: len(typed) >= 11)     # the burst it was allowed reached ROS, no more
    g.spin_for(0.3)
    assert len(typed) <= 1 + 10 + 2

    # max_clients (3): the fourth page is refused; the node and the first page still work.
    others = [Page(g, node.port), Page(g, node.port)]
    with pytest.raises(InvalidStatus):
        Page(g, node.port)
    assert counters['refused_clients'] == 1
    page.send({'type': 'ask', 'text': 'still there?'})
    assert g.spin_until(lambda: typed[-1].text == 'still there?')
    for p in (page, *others):
        p.ws.close()
    assert g.spin_until(lambda: node.bridge.clients == 0)


def test_a_taken_port_is_an_error_in_diagnostics_and_bad_parameters_stop_the_node(tmp_path, monkeypatch):
    import socket

    from caexpo_robot.nodes.common import ERROR
    monkeypatch.chdir(tmp_path)
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with ros_graph(partial(ScreenNode, parameter_overrides=[Parameter('port', value=port)])) as g:
            node = g.nodes[0]
            level, message, _ = node.diagnostic_state()
            assert level == ERROR and str(port) in message and node.port is None
            g.spin_for(0.2)                     # still spinning: the robot goes on without its page
    for name, value in (('port', 70000), ('max_clients', 0), ('max_frames_per_s', 0.0), ('bind_address', ' ')):
        with pytest.raises(SystemExit, match=f'screen: parameter {name}'):
            with ros_graph(partial(ScreenNode, parameter_overrides=[Parameter(name, value=value)])):
                pass
