"""Chaos: the real AssistantClient against a fault backend (a small HTTP server on 127.0.0.1) in every
fault mode the campaign tried, for a visitor in each of the eleven languages at once, with the robot's
own deadline (3.0 s) and phrasebook. Every mode must give exactly one on_reply per question, in the
visitor's language, within the deadline + 10 %, counted as a failure by the client and its breaker.

Before the fix, a bad Content-Encoding left all eleven visitors with no answer ever (no callback, breaker
and diagnostics clean); a reply in another language was spoken as is; a huge reply was read whole."""
import gzip
import json
import socket
import struct
import threading
import time

import pytest

from caexpo_robot.backend import AssistantClient
from caexpo_robot.language.languages import LANGUAGES
from loopback_http import LoopbackServer, QuietHandler

DEADLINE_S = 3.0  # the robot's default (config/greeter.yaml, interaction node)
HANG_S = 6.0      # how long a hanging handler holds its connection (bounded, past the deadline)


def turn_body(asked: str, **overrides) -> bytes:
    body = {'turn_id': 't1', 'session_id': 's1', 'reply': 'an answer', 'language': asked, 'intent': 'faq',
            'actions': [], 'end_session': False}
    return json.dumps({**body, **overrides}).encode()


def other_language(asked: str) -> str:
    return 'en' if asked != 'en' else 'zh'


# mode -> (status, body, headers) for a turn asked in `asked`; None = the handler does something else.
BODIES = {
    '500': lambda asked: (500, b'{"error": {"code": "internal_error", "message": "boom"}}', {}),
    'garbage': lambda asked: (200, b'{"reply": "half a JSON', {}),
    'wrong_shape': lambda asked: (200, json.dumps([{'reply': 'a list, not an object'}]).encode(), {}),
    'missing_fields': lambda asked: (200, json.dumps({'reply': 'no language, no intent'}).encode(), {}),
    'wrong_language': lambda asked: (200, turn_body(asked, language=other_language(asked)), {}),
    'null_language': lambda asked: (200, turn_body(asked, language=None), {}),
    'numeric_language': lambda asked: (200, turn_body(asked, language=42), {}),
    'deep_json': lambda asked: (200, b'{"reply": ' + b'[' * 100_000 + b']' * 100_000 + b'}', {}),
    'bad_encoding': lambda asked: (200, b'\x00\x01 not gzip', {'Content-Encoding': 'gzip'}),
    'gzip_bomb': lambda asked: (200, gzip.compress(turn_body(asked, reply='z' * 20_000_000), 1),
                                {'Content-Encoding': 'gzip'}),
    'huge_reply': lambda asked: (200, turn_body(asked, reply='x' * 5_000_000), {}),
    'html': lambda asked: (200, b'<html>502 Bad Gateway</html>', {'Content-Type': 'text/html'}),
    'unknown_intent': lambda asked: (200, turn_body(asked, intent='telepathy'), {}),
    'bad_action': lambda asked: (200, turn_body(asked, actions=[{'type': 'show_map'}]), {}),
}
MODES = ['down', 'hang', 'slow', 'reset', 'huge_chunked', *BODIES]


class FaultBackend(LoopbackServer):
    def __init__(self):
        self.mode = 'ok'
        self.turns = 0
        super().__init__(FaultHandler)


class FaultHandler(QuietHandler):
    def _send(self, status, body, headers=None):
        headers = {'Content-Type': 'application/json', **(headers or {})}
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header('Content-Length', str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client stopped reading (over its cap, or past its deadline)
            self.close_connection = True

    def do_DELETE(self):
        self._send(200, json.dumps({'session_id': 's1', 'ended_at': 'now'}).encode())

    def do_POST(self):
        length = int(self.headers.get('Content-Length', 0))
        payload = json.loads(self.rfile.read(length) or b'{}')
        if self.path == '/v1/sessions':
            return self._send(201, json.dumps({'session_id': f's-{payload["language"]}', 'robot_id': 'r',
                                               'entrance': 'entrance_a', 'language': payload['language'],
                                               'created_at': 'now'}).encode())
        with self.server.lock:
            self.server.turns += 1
            mode = self.server.mode
        asked = payload['language']
        if mode == 'hang':
            time.sleep(HANG_S)
            self.close_connection = True
            return None
        if mode == 'slow':
            time.sleep(DEADLINE_S + 1.0)
            return self._send(200, turn_body(asked))
        if mode == 'reset':
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            self.close_connection = True
            self.connection.close()
            return None
        if mode == 'huge_chunked':  # no Content-Length: the cap must hold while streaming
            self.send_response(200)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            chunk = b'x' * 65536
            try:
                self.wfile.write(b'{"reply": "')
                for _ in range(200):  # 13 MB at most
                    self.wfile.write(b'%x\r\n%s\r\n' % (len(chunk), chunk))
            except OSError:
                pass
            self.close_connection = True
            return None
        if mode in BODIES:
            return self._send(*BODIES[mode](asked))
        return self._send(200, turn_body(asked))


@pytest.fixture(scope='module')
def backend():
    server = FaultBackend()
    yield server
    server.stop()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def robot_client(url: str, pb, **overrides) -> AssistantClient:
    """The robot's defaults (deadline 3.0 s, filler after 1.2 s, 2 retries) and its phrasebook."""
    settings = dict(breaker_failures=100)  # every visitor reaches the fault (the breaker is tested below)
    settings.update(overrides)
    return AssistantClient(url, 'greeter-chaos', 'entrance_a', filler_text=lambda lang: pb.say('one_moment', lang).text,
                           canned_reply=pb.canned_answer, **settings)


def ask_everyone(client: AssistantClient) -> dict[str, list]:
    """One question per language, all at once; language -> [(seconds after ask, reply)] as they fired."""
    fired: dict[str, list] = {language: [] for language in LANGUAGES}
    lock = threading.Lock()
    for language in LANGUAGES:
        started = time.monotonic()

        def on_reply(reply, language=language, started=started):
            with lock:
                fired[language].append((time.monotonic() - started, reply))
        client.ask(f'visitor-{language}', 'where is hall 1', language, on_reply=on_reply,
                   on_filler=lambda text, lang: None)
    deadline = time.monotonic() + DEADLINE_S * 1.1 + 2.0
    while time.monotonic() < deadline and not all(fired.values()):
        time.sleep(0.02)
    time.sleep(0.3)  # a second callback would show up here
    return fired


@pytest.mark.parametrize('mode', MODES)
def test_every_fault_mode_gives_each_language_one_canned_answer_within_the_deadline(backend, pb, mode):
    backend.mode = mode
    url = f'http://127.0.0.1:{closed_port()}' if mode == 'down' else backend.url
    with robot_client(url, pb) as client:
        fired = ask_everyone(client)
        status = client.status()
    for language, calls in fired.items():
        assert len(calls) == 1, f'{mode}/{language}: on_reply fired {len(calls)} times'
        at, reply = calls[0]
        assert at <= DEADLINE_S * 1.10, f'{mode}/{language}: answer after {at:.2f} s'
        assert reply.source == 'canned' and reply.language == language, (mode, language, reply)
        assert reply.text == pb.canned_answer(language) and reply.text.strip()
    assert status['turns'] == status['canned'] == status['failures'] == len(LANGUAGES), status
    assert status['backend_replies'] == 0 and status['consecutive_failures'] == len(LANGUAGES), status
    assert sum(status['errors'].values()) == len(LANGUAGES) and status['last_error'], status


def test_the_breaker_opens_on_bad_replies_and_closes_when_the_backend_heals(backend, pb):
    backend.mode = 'bad_encoding'
    with robot_client(backend.url, pb, breaker_failures=3, breaker_reset_s=0.5) as client:
        for i in range(3):
            assert client.ask(f'v{i}', 'hello', 'th', on_reply=lambda r: None).result(5).source == 'canned'
        assert client.status()['breaker'] == 'open'
        turns_before = backend.turns
        reply = client.ask('v9', 'hello', 'my', on_reply=lambda r: None).result(5)
        assert reply.error == 'breaker_open' and reply.language == 'my' and backend.turns == turns_before
        backend.mode = 'ok'
        time.sleep(0.6)
        reply = client.ask('v10', 'hello', 'km', on_reply=lambda r: None).result(5)
        assert reply.source == 'backend' and reply.language == 'km' and client.status()['breaker'] == 'closed'
