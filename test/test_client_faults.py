"""The robot's assistant client against real sockets: a tiny controllable fault server on loopback
(down, slow, HTTP 500, garbage JSON, connection reset, lost session) and the real reference assistant."""
import json
import socket
import struct
import threading
import time

import pytest

from caexpo_assistant import start_in_thread
from caexpo_robot.backend import AssistantClient, ClientClosed
from loopback_http import LoopbackServer, QuietHandler

# Stand-ins for the robot phrasebook the lead wires in (keys one_moment / handoff_failed + call_staff).
FILLER = {'en': 'One moment please.', 'th': 'กรุณารอสักครู่', 'vi': 'Xin chờ một chút.', 'zh': '请稍等。',
          'ko': '잠시만 기다려 주세요.'}
CANNED = {'en': 'Sorry, I cannot reach the expo system. Shall I call a staff member?',
          'th': 'ขออภัย ตอนนี้ติดต่อระบบของงานไม่ได้ ต้องการให้เรียกเจ้าหน้าที่ไหม',
          'vi': 'Xin lỗi, tôi không kết nối được hệ thống. Bạn có muốn gọi nhân viên không?',
          'zh': '抱歉，暂时无法连接展会系统。需要为您叫工作人员吗？',
          'ko': '죄송합니다. 박람회 시스템에 연결할 수 없습니다. 직원을 불러 드릴까요?'}


def _turn_json(asked, **overrides) -> bytes:
    body = {'turn_id': 't', 'session_id': 's', 'reply': 'a reply', 'language': asked, 'intent': 'faq',
            'actions': [], 'end_session': False}
    return json.dumps({**body, **overrides}).encode()


OTHER = {'en': 'ko'}
# mode -> (body, Content-Type, Content-Encoding) for a visitor asking in `language`: replies that an
# HTTP 200 carries but that the robot must not use (each a failed turn: canned answer, breaker counts it).
BAD_REPLIES = {
    'wrong_language': lambda lang: (_turn_json(lang, language=OTHER.get(lang, 'en')), 'application/json', None),
    'null_language': lambda lang: (_turn_json(lang, language=None), 'application/json', None),
    'numeric_language': lambda lang: (_turn_json(lang, language=7), 'application/json', None),
    'deep_json': lambda lang: (b'{"reply": ' + b'[' * 100_000, 'application/json', None),
    'bad_encoding': lambda lang: (b'these bytes are not gzip', 'application/json', 'gzip'),
    'huge_reply': lambda lang: (_turn_json(lang, reply='x' * 3_000_000), 'application/json', None),
    'long_text': lambda lang: (_turn_json(lang, reply='y' * 2001), 'application/json', None),
    'long_spoken': lambda lang: (_turn_json(lang, spoken='z' * 301), 'application/json', None),
    'blank_spoken': lambda lang: (_turn_json(lang, spoken=' '), 'application/json', None),
    'html': lambda lang: (b'<html><body>502 Bad Gateway</body></html>', 'text/html', None),
    'bad_action': lambda lang: (_turn_json(lang, actions=[{'type': 'offer_slots', 'exhibitor_id': 'x',
                                                             'slots': [{'a': 1}]}]), 'application/json', None),
    'many_action_fields': lambda lang: (_turn_json(lang, actions=[{'type': 'show_map', 'place': 'hall_1',
                                                                     **{f'f{i}': i for i in range(40)}}]),
                                        'application/json', None),
}


class FaultServer(LoopbackServer):
    """Speaks just enough of the /v1 contract; `mode` decides how it misbehaves on the turn endpoint."""
    def __init__(self):
        self.mode, self.delay_s, self.hits, self.lost_sessions = 'ok', 0.0, [], 0
        super().__init__(FaultHandler)


class FaultHandler(QuietHandler):
    def _reply(self, status, body: bytes, content_type='application/json'):
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status, obj):
        self._reply(status, json.dumps(obj).encode())

    def do_DELETE(self):
        self.server.hits.append(('DELETE', self.path, None))
        self._json(200, {'session_id': self.path.rsplit('/', 1)[-1], 'ended_at': 'now'})

    def do_POST(self):
        server = self.server
        payload = json.loads(self.rfile.read(int(self.headers.get('Content-Length', 0))) or b'{}')
        with server.lock:
            server.hits.append(('POST', self.path, self.headers.get('Idempotency-Key')))
            mode = server.mode
        if self.path == '/v1/sessions':
            return self._json(201, {'session_id': f's{len(server.hits)}', 'robot_id': payload['robot_id'],
                                    'entrance': payload['entrance'], 'language': payload['language'],
                                    'created_at': 'now'})
        if mode == 'slow':
            time.sleep(server.delay_s)
        elif mode == '500':
            return self._json(500, {'error': {'code': 'internal_error', 'message': 'boom'}})
        elif mode == 'garbage':
            return self._reply(200, b'{"reply": "half a JSON', 'application/json')
        elif mode == 'reset':
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.close_connection = True
            self.connection.close()  # RST instead of an answer
            return
        elif mode in BAD_REPLIES:
            body, content_type, encoding = BAD_REPLIES[mode](payload['language'])
            self.send_response(200)
            self.send_header('Content-Type', content_type)
            if encoding:
                self.send_header('Content-Encoding', encoding)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:  # the client stopped reading a body over its cap
                pass
            return
        elif mode == 'lose_session_once':
            with server.lock:
                lose, server.mode = True, 'ok'
                server.lost_sessions += 1
            if lose:
                return self._json(404, {'error': {'code': 'unknown_session', 'message': 'restarted'}})
        self._json(200, {'turn_id': 't', 'session_id': self.path.split('/')[3],
                         'reply': f'backend says: {payload["text"]}',
                         'language': payload['language'], 'intent': 'faq', 'actions': [], 'end_session': False})


@pytest.fixture
def fault():
    server = FaultServer()
    yield server
    server.stop()


class Recorder:
    """Collects callbacks with their arrival time relative to ask()."""

    def __init__(self):
        self.replies, self.fillers, self.done = [], [], threading.Event()
        self.t0 = time.monotonic()

    def on_reply(self, reply):
        self.replies.append((time.monotonic() - self.t0, reply))
        self.done.set()

    def on_filler(self, text, language):
        self.fillers.append((time.monotonic() - self.t0, text, language))

    def wait(self, timeout=10.0):
        assert self.done.wait(timeout), 'no reply callback'
        return self.replies[0]


def make_client(url, **overrides):
    settings = dict(deadline_s=1.0, filler_after_s=0.3, connect_timeout_s=0.3, breaker_failures=3,
                    breaker_reset_s=20.0, retries=2, backoff_s=0.05)
    settings.update(overrides)
    return AssistantClient(url, 'robot-t1', 'entrance_a', filler_text=FILLER.__getitem__,
                           canned_reply=CANNED.__getitem__, **settings)


def ask(client, text='hello', language='en', visitor='v1'):
    recorder = Recorder()
    handle = client.ask(visitor, text, language, recorder.on_reply, recorder.on_filler)
    return recorder, handle


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize('mode,error', [('down', 'connection'), ('slow', 'deadline'), ('500', 'server: HTTP 500'),
                                        ('garbage', 'malformed'), ('reset', 'connection')])
def test_failures_give_the_canned_answer_in_the_visitors_language_within_the_deadline(fault, mode, error):
    url = f'http://127.0.0.1:{closed_port()}' if mode == 'down' else fault.url
    fault.mode, fault.delay_s = mode, 3.0
    with make_client(url) as client:
        recorder, _ = ask(client, 'ห้องน้ำอยู่ไหน', 'th')
        at, reply = recorder.wait()
        assert at <= 1.0 * 1.10, f'{mode}: canned answer after {at:.3f} s'
        assert reply.source == 'canned' and reply.text == CANNED['th'] and reply.language == 'th'
        assert reply.error.startswith(error), reply.error
        assert reply.actions == [{'type': 'offer_call_staff'}] and reply.intent == 'fallback'
        assert client.status()['canned'] == 1 and client.status()['failures'] == 1
        if mode in ('500', 'reset'):  # retried: the turn write carries an idempotency key
            keys = [key for method, path, key in fault.hits if path.endswith('/turns')]
            assert len(keys) == 3 and len(set(keys)) == 1 and keys[0]


def test_filler_fires_when_the_reply_is_slower_than_the_threshold(fault):
    fault.mode, fault.delay_s = 'slow', 0.6
    with make_client(fault.url, deadline_s=2.0, filler_after_s=0.25) as client:
        recorder, handle = ask(client, 'Tôi muốn tìm sầu riêng', 'vi')
        # ask() only enqueues: it returned while the backend still holds the request (0.6 s)
        assert not handle.done() and recorder.replies == []
        at, reply = recorder.wait()
        assert reply.source == 'backend' and reply.text == 'backend says: Tôi muốn tìm sầu riêng'
        assert 0.6 <= at < 1.0 and reply.latency_s >= 0.6
        assert len(recorder.fillers) == 1
        filler_at, text, language = recorder.fillers[0]
        assert 0.25 <= filler_at < 0.55 and text == FILLER['vi'] and language == 'vi'
        fault.mode = 'ok'  # a fast reply: no filler
        recorder, _ = ask(client, 'again', 'vi')
        recorder.wait()
        time.sleep(0.3)
        assert recorder.fillers == [] and client.status()['fillers'] == 1


def test_open_breaker_costs_nothing_and_recovers_through_half_open(fault):
    fault.mode = '500'
    with make_client(fault.url, breaker_failures=2, breaker_reset_s=0.5, retries=0) as client:
        for visitor in ('v1', 'v2'):
            recorder, _ = ask(client, visitor=visitor)
            assert recorder.wait()[1].error.startswith('server')
        assert client.status()['breaker'] == 'open'
        hits_before = len(fault.hits)
        recorder, _ = ask(client, '你好', 'zh', visitor='v3')
        at, reply = recorder.wait()
        # at once: the canned answer comes before the filler would (no wall-clock bound in a unit test)
        assert reply.text == CANNED['zh'] and reply.error == 'breaker_open' and recorder.fillers == []
        assert len(fault.hits) == hits_before, 'an open breaker must not touch the network'
        fault.mode = 'ok'  # the backend recovers
        time.sleep(0.55)
        recorder, _ = ask(client, 'where is the AI zone', 'en', visitor='v4')
        reply = recorder.wait()[1]
        assert reply.source == 'backend' and client.status()['breaker'] == 'closed'
        recorder, _ = ask(client, 'next visitor', 'ko', visitor='v5')
        assert recorder.wait()[1].source == 'backend'


def test_failed_half_open_trial_reopens_the_breaker(fault):
    fault.mode = '500'
    with make_client(fault.url, breaker_failures=1, breaker_reset_s=0.3, retries=0) as client:
        ask(client)[0].wait()
        time.sleep(0.35)
        assert ask(client, visitor='v2')[0].wait()[1].error.startswith('server')  # the trial hit the backend
        assert client.status()['breaker'] == 'open'
        assert ask(client, visitor='v3')[0].wait()[1].error == 'breaker_open'


def test_lost_backend_session_is_reopened_transparently(fault):
    fault.mode = 'lose_session_once'
    with make_client(fault.url) as client:
        reply = ask(client, 'hi')[0].wait()[1]
        assert reply.source == 'backend' and fault.lost_sessions == 1
        assert client.status()['sessions_opened'] == 2
        ask(client, 'again')[0].wait()
        assert client.status()['sessions_opened'] == 2  # the visitor keeps the new session
        client.end_visit('v1')
        time.sleep(0.2)
        assert fault.hits[-1][0] == 'DELETE' and client.status()['sessions_closed'] == 1


def test_cancel_bad_input_callback_errors_and_close(fault):
    fault.mode, fault.delay_s = 'slow', 0.5
    client = make_client(fault.url)
    recorder, handle = ask(client)
    assert handle.cancel()
    time.sleep(0.7)
    assert recorder.replies == []  # the visitor walked away: no reply callback
    with pytest.raises(ValueError, match='unsupported language'):
        client.ask('v1', 'hello', 'fr', lambda r: None)
    with pytest.raises(ValueError, match='non-empty'):
        client.ask('v1', '   ', 'en', lambda r: None)
    fault.mode = 'ok'

    def broken(_reply):
        raise RuntimeError('callback bug')
    client.ask('v1', 'x' * 2000, 'en', broken).result(5)
    assert client.status()['callback_errors'] == 1 and client.status()['truncated'] == 1
    assert ask(client, 'still alive')[0].wait()[1].source == 'backend'
    pending, _ = ask(client)  # in flight while closing: cancelled, no callback, no hang
    client.close()
    client.close()
    with pytest.raises(ClientClosed):
        client.ask('v1', 'hello', 'en', lambda r: None)
    with pytest.raises(ValueError):
        AssistantClient('ftp://x', 'r', 'e', filler_text=str, canned_reply=str)


def test_against_the_reference_assistant_with_the_robots_defaults():
    with start_in_thread(today='2025-09-17') as running:
        client = AssistantClient(running.url, 'greeter-1', 'entrance_b', filler_text=FILLER.__getitem__,
                                 canned_reply=CANNED.__getitem__, token=running.robot_token('greeter-1'))
        try:
            assert client.deadline_s == 3.0 and client.filler_after_s == 1.2 and client.status()['token']
            recorder, _ = ask(client, '人工智能专区在哪里？', 'zh')
            at, reply = recorder.wait()
            assert reply.source == 'backend' and reply.intent == 'directions' and '人工智能专区' in reply.text
            assert reply.actions[0]['from_entrance'] == 'entrance_b' and at < 1.0
            assert reply.spoken and len(reply.spoken) <= len(reply.text)   # the assistant's compact form
            booked = client.ask('v9', 'Book a meeting with LionSat at 10:00', 'en', lambda r: None,
                                visitor={'name': 'Lim Wei Ling', 'company': 'Penang Logistics'}).result(5)
            assert booked.intent == 'meeting_booked' and 'D2-018' in booked.text
            assert 'visitor_name' not in booked.actions[0] and 'contact' not in booked.actions[0]   # privacy
        finally:
            client.close()
        # Without a token (or with another robot's), the backend refuses: a canned answer, not a breaker failure.
        for token, error in ((None, 'HTTP 401 unauthorized'), (running.robot_token('greeter-2'), 'HTTP 403 forbidden')):
            with AssistantClient(running.url, 'greeter-1', 'entrance_b', filler_text=FILLER.__getitem__,
                                 canned_reply=CANNED.__getitem__, token=token) as refused:
                reply = refused.ask('v1', 'Where is the AI zone?', 'en', lambda r: None).result(5)
                assert reply.source == 'canned' and reply.error == f'rejected: session {error}'
                assert refused.status()['consecutive_failures'] == 0


def test_the_robots_canned_answer_comes_from_the_phrasebook_with_the_one_fallback_shape(pb):
    """What the visitor hears when the backend is down is the phrasebook's canned answer (one definition,
    also used without a backend), with the contract's fallback intent and offer to call staff."""
    from caexpo_robot.backend import fallback_reply
    with AssistantClient(f'http://127.0.0.1:{closed_port()}', 'robot-t1', 'entrance_a', deadline_s=1.0,
                         retries=0, filler_text=lambda lang: pb.say('one_moment', lang).text,
                         canned_reply=pb.canned_answer) as client:
        reply = ask(client, 'ຫ້ອງນ້ຳຢູ່ໃສ', 'lo')[0].wait()[1]
    expected = f"{pb.say('handoff_failed', 'lo').text} {pb.say('call_staff', 'lo').text}"
    assert reply.source == 'canned' and reply.text == expected and reply.language == 'lo'
    assert fallback_reply(pb.canned_answer('lo'), 'lo') == fallback_reply(expected, 'lo')
    assert (reply.intent, reply.actions, reply.end_session) == ('fallback', [{'type': 'offer_call_staff'}], False)


def test_a_reply_outside_the_contract_is_a_failed_turn_counted_by_the_breaker(fault, monkeypatch):
    """The client validates replies with the contract's TurnOut: an unknown intent or a blank reply is
    as bad as garbage JSON (canned answer, a breaker failure)."""
    bad_bodies = iter([{'intent': 'telepathy'}, {'reply': '   '}, {'actions': [{'kind': 'show_map'}]}])

    def bad_reply(handler, status, obj):
        if handler.path.endswith('/turns'):
            obj = {**obj, **next(bad_bodies)}
        FaultHandler._reply(handler, status, json.dumps(obj).encode())
    monkeypatch.setattr(FaultHandler, '_json', bad_reply)
    with make_client(fault.url, breaker_failures=3, retries=0) as client:
        errors = [ask(client, f'q{i}', 'en', visitor=f'v{i}')[0].wait()[1].error for i in range(3)]
        assert all(e.startswith('malformed: reply: ') for e in errors), errors
        assert ('intent' in errors[0] and 'reply' in errors[1] and 'actions.0.type' in errors[2]), errors
        assert client.status()['breaker'] == 'open'


@pytest.mark.parametrize('mode,error', [
    ('wrong_language', "malformed: reply: language 'ko', asked 'en'"), ('null_language', 'malformed: reply: language'),
    ('numeric_language', 'malformed: reply: language'), ('deep_json', 'malformed: reply: Invalid JSON'),
    ('bad_encoding', 'decoding: DecodingError'), ('huge_reply', 'oversized: reply of 3000'),
    ('long_text', 'malformed: reply: reply: String should have at most 2000'),
    ('long_spoken', 'malformed: reply: spoken: String should have at most 300'),
    ('blank_spoken', 'malformed: reply: spoken: String should match pattern'),
    ('html', "malformed: reply: Content-Type 'text/html'"),
    ('bad_action', "malformed: reply: actions.0: Value error, offer_slots: field 'slots'"),
    ('many_action_fields', 'malformed: reply: actions.0: Value error, show_map: more than 32 fields')])
def test_a_200_reply_the_robot_cannot_use_is_a_failed_turn_answered_once_in_the_visitors_language(
        fault, mode, error):
    """Before: a wrong-language reply was spoken, a huge one read whole, a bad Content-Encoding left the
    visitor without any answer (httpx.DecodingError escaped the turn: no callback, breaker clean)."""
    fault.mode = mode
    with make_client(fault.url, retries=0, breaker_failures=2) as client:
        recorder, handle = ask(client, 'where is hall 1', 'en')
        at, reply = recorder.wait(3.0)
        assert at <= 1.0 * 1.10, f'{mode}: canned answer after {at:.3f} s'
        assert reply.source == 'canned' and reply.text == CANNED['en'] and reply.language == 'en'
        assert reply.error.startswith(error), reply.error
        assert handle.result(1) is reply
        time.sleep(0.1)
        assert len(recorder.replies) == 1, 'on_reply must fire exactly once'
        status = client.status()
        assert status['failures'] == 1 and status['consecutive_failures'] == 1 and status['backend_replies'] == 0
        assert sum(status['errors'].values()) == 1
        ask(client, 'again', 'en', visitor='v2')[0].wait(3.0)
        assert client.status()['breaker'] == 'open'


def test_any_exception_while_answering_still_fires_on_reply_once_with_the_canned_answer(fault, monkeypatch):
    """Whatever escapes the exchange (a RecursionError in a decoder, a bug) is a failed turn, not a lost one."""
    from caexpo_robot.backend import client as client_module

    def explode(*_args, **_kwargs):
        raise RecursionError('maximum recursion depth exceeded')
    monkeypatch.setattr(client_module, '_parse', explode)
    with make_client(fault.url, retries=0) as client:
        recorder, handle = ask(client, 'xin chào', 'vi')
        at, reply = recorder.wait(3.0)
        assert reply.source == 'canned' and reply.language == 'vi' and reply.text == CANNED['vi']
        assert reply.error.startswith('internal: RecursionError') and at <= 1.1
        time.sleep(0.1)
        assert len(recorder.replies) == 1 and client.status()['consecutive_failures'] == 1


def test_every_reply_of_the_reference_assistant_passes_the_contracts_action_checks():
    """The stricter contract (action fields, bounded text) accepts what the reference assistant says."""
    questions = [('Where is the AI zone?', 'en'), ('durian', 'en'), ('Book a meeting with LionSat', 'en'),
                 ('Book a meeting with LionSat at 10:00', 'en'), ('cancel my meeting', 'en'),
                 ('What events are on today?', 'en'), ('I need a staff member', 'en'), ('where is the toilet', 'en'),
                 ('Sự kiện hôm nay', 'vi'), ('กิจกรรมวันนี้', 'th')]
    with start_in_thread(today='2025-09-17') as running:
        with make_client(running.url, deadline_s=5.0, connect_timeout_s=1.0,
                         token=running.robot_token('robot-t1')) as client:
            replies = [client.ask('v1', text, lang, lambda r: None, visitor={'name': 'Lim Wei Ling'}).result(10)
                       for text, lang in questions]
    assert all(r.source == 'backend' for r in replies), [(r.intent, r.error) for r in replies]
    kinds = {a['type'] for r in replies for a in r.actions}
    assert {'show_map', 'show_exhibitors', 'offer_slots', 'meeting_booked', 'meeting_cancelled', 'show_events',
            'call_staff'} <= kinds, kinds


def test_the_spoken_form_is_the_backends_or_else_the_first_sentences_within_about_ten_seconds(fault, monkeypatch):
    """Backward compatible: a backend that sends no `spoken` still gets a short spoken answer (first
    sentences within the language's budget); one that sends it is said as sent; the canned answer has one."""
    from caexpo_robot.backend.contract import SPOKEN_CHARS, spoken_form
    long_text = ('Hall 1 is straight ahead, past the registration desks. Take the escalator to the second floor. '
                 'The AI zone is on your left, next to the robotics showcase, and it is open until six.')
    spoken_by_backend = iter([None, 'Hall 1, second floor, on your left.'])

    def reply_with(handler, status, obj):
        if handler.path.endswith('/turns'):
            obj = {**obj, 'reply': long_text}
            spoken = next(spoken_by_backend)
            if spoken:
                obj['spoken'] = spoken
        FaultHandler._reply(handler, status, json.dumps(obj).encode())
    monkeypatch.setattr(FaultHandler, '_json', reply_with)
    with make_client(fault.url, retries=0) as client:
        derived = ask(client, 'where is the AI zone', 'en')[0].wait()[1]
        assert derived.source == 'backend' and derived.text == long_text
        assert derived.spoken == 'Hall 1 is straight ahead, past the registration desks. Take the escalator to the ' \
            'second floor.'                                          # two whole sentences fit, the third does not
        assert derived.spoken == spoken_form(long_text, 'en') and len(derived.spoken) <= SPOKEN_CHARS['en']
        given = ask(client, 'where is the AI zone', 'en', visitor='v2')[0].wait()[1]
        assert (given.text, given.spoken) == (long_text, 'Hall 1, second floor, on your left.')
    fault.mode = '500'
    with make_client(fault.url, retries=0) as client:
        canned = ask(client, 'where is the AI zone', 'zh')[0].wait()[1]
    assert canned.source == 'canned' and canned.text == CANNED['zh'] and canned.spoken == CANNED['zh']   # fits


@pytest.mark.parametrize('language, text, spoken', [
    ('en', 'Short answer.', 'Short answer.'),
    ('zh', '已为您呼叫工作人员到A入口（南广场），请在这里稍候，工作人员很快就到。',
     '已为您呼叫工作人员到A入口（南广场），请在这里稍候'),                  # cut at a comma, not said
    ('en', 'Today, 17/9: Opening Ceremony of the 22nd China-ASEAN Expo; China-ASEAN Business and Investment '
           'Summit; China-ASEAN AI Cooperation Forum.', 'Today, 17/9: Opening Ceremony of the 22nd China-ASEAN Expo'),
    ('th', 'ทานอาหารได้ที่ศูนย์อาหาร ห่างจากที่นี่ประมาณ 290 เมตร ตรงไปข้างหน้า อยู่ชั้น 2 มีอาหารฮาลาลด้วยครับ',
     'ทานอาหารได้ที่ศูนย์อาหาร ห่างจากที่นี่ประมาณ 290 เมตร ตรงไปข้างหน้า'),     # no sentence marks: at a space
])
def test_the_derived_spoken_form_is_whole_sentences_or_phrases_within_the_languages_budget(language, text, spoken):
    from caexpo_robot.backend.contract import SPOKEN_CHARS, spoken_form
    assert spoken_form(text, language) == spoken and len(spoken) <= SPOKEN_CHARS[language]
