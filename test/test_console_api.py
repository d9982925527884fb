"""The console's HTTP API for real: uvicorn on loopback, argon2id, SQLite, signed robot events into the hub."""
import json
import threading
import time

import httpx
import pytest

from caexpo_console import start_in_thread
from console_harness import PASSWORD, Clock, RecordingSender, Robot, login

ROBOTS = {'greeter-a': {'entrance': 'north'}, 'greeter-b': {'entrance': 'south'}}


@pytest.fixture(scope='module')
def world():
    clock, sender = Clock(), RecordingSender()
    console = start_in_thread(sender, clock=clock, tick_s=None, robots=ROBOTS, escalate_after_s=60,
                              login_failures_per_user=3)
    for name, role in (('vera', 'viewer'), ('olga', 'operator'), ('otto', 'operator'), ('sam', 'supervisor'),
                       ('ada', 'admin'), ('lim', 'viewer')):
        console.auth.add_user(name, role, PASSWORD)
    yield console, clock, sender
    console.stop()


def csrf(answer: dict) -> dict:
    return {'X-CSRF-Token': answer['csrf']}


def audit_entries(console, **filters):
    return console.storage.audit_log(limit=1000, **filters)


def test_no_session_is_401_and_security_headers(world):
    console, _, sender = world
    before = len(sender.sent)
    for method, path in (('GET', '/api/robots'), ('GET', '/api/me'), ('GET', '/api/stream'),
                         ('POST', '/api/robots/greeter-a/commands')):
        response = httpx.request(method, console.url + path, json={'kind': 'say', 'text': 'hi'})
        assert response.status_code == 401, path
        assert response.json()['error']['code'] == 'unauthenticated'
    assert len(sender.sent) == before
    health = httpx.get(console.url + '/api/health')
    assert health.status_code == 200 and health.json()['robots'] == 2
    assert "default-src 'self'" in health.headers['content-security-policy']
    assert health.headers['x-content-type-options'] == 'nosniff'


def test_login_sets_strict_httponly_cookie_and_me_gives_csrf(world):
    console, _, _ = world
    response = httpx.post(console.url + '/api/login', json={'name': 'olga', 'password': PASSWORD})
    assert response.status_code == 200
    cookie = response.headers['set-cookie'].lower()
    assert 'httponly' in cookie and 'samesite=strict' in cookie and 'secure' not in cookie
    body = response.json()
    assert body['role'] == 'operator' and 'say' in body['permissions'] and 'audit' not in body['permissions']
    client = httpx.Client(base_url=console.url, cookies=response.cookies)
    assert client.get('/api/me').json()['csrf'] == body['csrf']
    # the password is stored as argon2id, never as itself
    stored = console.storage.user('olga')['password_hash']
    assert stored.startswith('$argon2id$') and PASSWORD not in stored


def test_wrong_password_refused_audited_and_rate_limited(world):
    console, _, _ = world
    for _ in range(3):
        response = httpx.post(console.url + '/api/login', json={'name': 'lim', 'password': 'wrong password!'})
        assert response.status_code == 401 and response.json()['error']['code'] == 'bad_login'
    # the fourth try for this user is refused before the password is even checked, even the right one
    response = httpx.post(console.url + '/api/login', json={'name': 'lim', 'password': PASSWORD})
    assert response.status_code == 429 and int(response.headers['retry-after']) > 0
    results = [e['result'] for e in audit_entries(console, actor='lim', action='login')]
    assert results.count('refused: wrong password') == 3 and 'refused: rate limited' in results
    unknown = httpx.post(console.url + '/api/login', json={'name': 'nobody', 'password': PASSWORD})
    assert unknown.status_code == 401
    assert audit_entries(console, actor='nobody')[0]['result'] == 'refused: unknown user'


def test_state_change_without_or_with_wrong_csrf_is_403(world):
    console, _, sender = world
    client, answer = login(console.url, 'olga')
    before = len(sender.sent)
    for headers in ({}, {'X-CSRF-Token': 'x' * 43}):
        response = client.post('/api/robots/greeter-a/commands', json={'kind': 'say', 'text': 'Hello'},
                               headers=headers)
        assert response.status_code == 403 and response.json()['error']['code'] == 'csrf'
    assert len(sender.sent) == before
    # both refusals audited with who tried what on which robot (the session names the actor)
    refused = audit_entries(console, actor='olga', action='say')[:2]
    assert [(e['robot'], e['result'], e['client']) for e in refused] == [('greeter-a', 'refused: csrf',
                                                                          '127.0.0.1')] * 2
    assert client.post('/api/logout').status_code == 403        # logout needs it too
    assert audit_entries(console, actor='olga')[0]['action'] == 'POST /api/logout'
    assert client.post('/api/logout', headers=csrf(answer)).status_code == 204
    assert client.get('/api/me').status_code == 401


def test_viewer_say_is_403_and_audited(world):
    console, _, sender = world
    client, answer = login(console.url, 'vera')
    before = len(sender.sent)
    response = client.post('/api/robots/greeter-a/commands', json={'kind': 'say', 'text': 'Hello'},
                           headers=csrf(answer))
    assert response.status_code == 403 and response.json()['error']['code'] == 'forbidden'
    assert len(sender.sent) == before
    assert audit_entries(console, actor='vera', action='say')[0]['result'] == 'refused: forbidden'
    assert client.get('/api/robots').status_code == 200          # a viewer sees the fleet
    assert client.get('/api/audit').status_code == 403           # not the audit log


def test_operator_say_forwarded_signed_body_and_audited_with_ack(world):
    console, clock, sender = world
    client, answer = login(console.url, 'olga')
    response = client.post('/api/robots/greeter-a/commands', headers=csrf(answer),
                           json={'kind': 'say', 'text': 'Xin chào, tôi có thể giúp gì?', 'language': 'vi',
                                 'reason': 'visitor asked for staff'})
    assert response.status_code == 202, response.text
    command_id = response.json()['command_id']
    robot_id, kind, body = sender.sent[-1]
    assert (robot_id, kind) == ('greeter-a', 'say')
    assert body == {'command_id': command_id, 'operator': 'olga', 'text': 'Xin chào, tôi có thể giúp gì?',
                    'language': 'vi'}
    entry = audit_entries(console, actor='olga', action='say')[0]
    assert entry['result'] == 'sent' and entry['robot'] == 'greeter-a'
    assert entry['detail']['reason'] == 'visitor asked for staff' and entry['detail']['command_id'] == command_id
    Robot(console.hub, clock).event('ack', {'command_id': command_id, 'ok': True})
    assert audit_entries(console, action='ack:say')[0]['result'] == 'ok'
    # an unknown robot, and a say without text
    assert client.post('/api/robots/nobody/commands', json={'kind': 'say', 'text': 'x'},
                       headers=csrf(answer)).status_code == 404
    empty = client.post('/api/robots/greeter-a/commands', json={'kind': 'say'}, headers=csrf(answer))
    assert empty.status_code == 422


def test_second_operator_take_over_is_409_with_holder(world):
    console, clock, sender = world
    olga, olga_answer = login(console.url, 'olga')
    otto, otto_answer = login(console.url, 'otto')
    robot = Robot(console.hub, clock, 'greeter-b')
    robot.heartbeat()
    first = olga.post('/api/robots/greeter-b/commands', json={'kind': 'take_over'}, headers=csrf(olga_answer))
    assert first.status_code == 202
    robot.event('ack', {'command_id': first.json()['command_id'], 'ok': True})
    assert console.hub.holder('greeter-b') == 'olga'
    before = len(sender.sent)
    second = otto.post('/api/robots/greeter-b/commands', json={'kind': 'take_over'}, headers=csrf(otto_answer))
    assert second.status_code == 409
    assert second.json()['error'] == {'code': 'held', 'message': 'held by olga', 'holder': 'olga'}
    # nor may otto speak through it or hand it back; a supervisor may force the hand-back
    assert otto.post('/api/robots/greeter-b/commands', json={'kind': 'say', 'text': 'hi'},
                     headers=csrf(otto_answer)).status_code == 409
    assert otto.post('/api/robots/greeter-b/commands', json={'kind': 'hand_back', 'force': True},
                     headers=csrf(otto_answer)).status_code == 403
    assert len(sender.sent) == before
    assert audit_entries(console, actor='otto', action='take_over')[0]['result'] == 'refused: held'
    sam, sam_answer = login(console.url, 'sam')
    forced = sam.post('/api/robots/greeter-b/commands', json={'kind': 'hand_back', 'force': True,
                                                               'reason': 'olga left'}, headers=csrf(sam_answer))
    assert forced.status_code == 202 and sender.sent[-1][2]['force'] is True
    # the heartbeat is the robot's word on who holds it
    robot.heartbeat(takeover_owner=None)
    assert console.hub.holder('greeter-b') is None


def test_sessions_expire_idle_and_absolute(world):
    console, clock, _ = world
    client, _ = login(console.url, 'vera')
    clock.advance(29 * 60)
    assert client.get('/api/me').status_code == 200
    clock.advance(31 * 60)                               # 31 min since the last request
    assert client.get('/api/me').status_code == 401
    client, _ = login(console.url, 'vera')
    for _ in range(12 * 3):                              # active all along, a request every 20 min
        assert client.get('/api/me').status_code == 200
        clock.advance(20 * 60)
    assert client.get('/api/me').status_code == 401      # 12 h after the login, whatever the activity


def test_disabled_user_loses_session_and_admin_only_users_api(world):
    console, _, _ = world
    ada, ada_answer = login(console.url, 'ada')
    sam, sam_answer = login(console.url, 'sam')
    assert sam.get('/api/users').status_code == 403
    created = ada.post('/api/users', json={'name': 'temp', 'role': 'operator', 'password': 'temporary pass'},
                       headers=csrf(ada_answer))
    assert created.status_code == 201
    temp, _ = login(console.url, 'temp', 'temporary pass')
    assert ada.put('/api/users/temp', json={'disabled': True}, headers=csrf(ada_answer)).status_code == 200
    assert temp.get('/api/me').status_code == 401
    again = httpx.post(console.url + '/api/login', json={'name': 'temp', 'password': 'temporary pass'})
    assert again.status_code == 401
    names = {u['name']: u for u in ada.get('/api/users').json()['users']}
    assert names['temp']['disabled'] is True and 'password_hash' not in names['temp']
    assert [e['action'] for e in audit_entries(console, actor='ada')][:2] == ['user_change', 'user_add']


def test_alerts_escalate_ack_assign(world):
    console, clock, sender = world
    robot = Robot(console.hub, clock, 'greeter-a')
    robot.event('alert', {'alert_id': 'a1', 'type': 'staff_requested', 'language': 'th'})
    robot.event('alert', {'alert_id': 'a2', 'type': 'backend_down'})
    clock.advance(61)
    console.hub.tick()
    olga, answer = login(console.url, 'olga')
    states = {a['id']: a['state'] for a in olga.get('/api/alerts', params={'robot': 'greeter-a'}).json()['alerts']}
    assert states == {'a1': 'escalated', 'a2': 'escalated'}
    ack = olga.post('/api/alerts/greeter-a/a1/ack', headers=csrf(answer))
    assert ack.status_code == 202 and sender.sent[-1][1:] == ('acknowledge_alert', {
        'command_id': ack.json()['command_id'], 'operator': 'olga', 'alert_id': 'a1'})
    assigned = olga.post('/api/alerts/greeter-a/a1/assign', json={'assignee': 'Mai at desk 2'}, headers=csrf(answer))
    assert assigned.json()['state'] == 'assigned' and assigned.json()['acknowledged_by'] == 'olga'
    robot.event('alert_cleared', {'alert_id': 'a2'})
    assert console.storage.alert('greeter-a', 'a2')['state'] == 'cleared'
    assert olga.post('/api/alerts/greeter-a/zz/ack', headers=csrf(answer)).status_code == 404


def test_offline_after_five_seconds_without_heartbeat(world):
    console, clock, _ = world
    robot = Robot(console.hub, clock, 'greeter-a')
    robot.heartbeat(visitor_language='km')
    assert console.hub.robot('greeter-a')['online'] is True
    clock.advance(4.9)
    console.hub.tick()
    assert console.hub.robot('greeter-a')['online'] is True
    clock.advance(0.2)
    console.hub.tick()
    summary = console.hub.robot('greeter-a')
    assert summary['online'] is False and summary['state']['visitor_language'] == 'km'


def test_transcripts_masked_and_deleted_after_retention(world):
    console, clock, _ = world
    robot = Robot(console.hub, clock, 'greeter-a')
    robot.say('My name is Anna Lee, call me on +60 12-345 6789 or anna@example.com', conversation='ret')
    robot.say('我叫王伟', language='zh', conversation='ret')
    robot.say('partial words', final=False, conversation='ret')
    stored = console.storage.transcripts('greeter-a', 'ret')
    assert [line['text'] for line in stored] == ['My name is [name], call me on [phone] or [email]', '我叫[name]']
    viewer, _ = login(console.url, 'vera')
    live = viewer.get('/api/robots/greeter-a/transcript').json()['lines']
    assert live[-1]['text'] == '我叫王伟' and live[-1]['language'] == 'zh'     # live view: memory only
    clock.advance(23 * 3600)
    assert console.hub.purge(force=True) == 0
    clock.advance(2 * 3600)
    assert console.hub.purge(force=True) == 2
    assert console.storage.transcripts('greeter-a', 'ret') == []


def test_conversation_summary_and_analytics(world):
    console, clock, _ = world
    robot = Robot(console.hub, clock, 'greeter-b')
    robot.say('Where can I find durian exhibitors from Malaysia?', conversation='conv9')
    robot.say('I want durian samples and coffee. My name is Budi.', conversation='conv9')
    robot.event('counters', {'window_s': 60.0, 'seen': 7, 'engaged': 3, 'served': 2, 'languages': {'en': 2, 'ms': 1}})
    robot.event('conversation_ended', {
        'conversation': 'conv9', 'language': 'en', 'started_at': clock() - 60, 'ended_at': clock(), 'turns': 3,
        'intents': ['find_exhibitor'], 'answered': 2, 'unanswered': ['Is parking free? Call 0912345678'],
        'latencies_ms': [250.0, 900.0, 1200.0]})
    sam, _ = login(console.url, 'sam')
    detail = sam.get('/api/robots/greeter-b').json()
    conv = [c for c in detail['conversations'] if c['conversation'] == 'conv9'][0]
    assert 'durian' in conv['keywords'] and 'Budi' not in conv['summary'] and 'durian' in conv['summary']
    assert conv['unanswered'] == ['Is parking free? Call [phone]']
    data = sam.get('/api/analytics').json()
    row = [h for h in data['hours'] if h['robot'] == 'greeter-b'][0]
    assert (row['seen'], row['engaged'], row['served'], row['entrance']) == (7, 3, 2, 'south')
    assert data['languages']['ms'] == 1
    assert data['latency_ms']['count'] >= 3 and data['latency_ms']['p50'] == 1000
    assert {'text': 'Is parking free? Call [phone]', 'language': 'en', 'count': 1} in data['unanswered']
    export = sam.get('/api/analytics/export')
    assert export.status_code == 200 and 'greeter-b' in export.text
    vera, _ = login(console.url, 'vera')
    assert vera.get('/api/analytics/export').status_code == 403


def test_sse_snapshot_then_transcript_event(world):
    console, clock, _ = world
    client, _ = login(console.url, 'vera')
    events = []
    got = threading.Event()

    def read():
        with client.stream('GET', '/api/stream', timeout=10) as response:
            assert response.headers['content-type'].startswith('text/event-stream')
            kind = None
            for line in response.iter_lines():
                if line.startswith('event: '):
                    kind = line[7:]
                elif line.startswith('data: '):
                    events.append((kind, json.loads(line[6:])))
                    if kind == 'transcript':
                        got.set()
                        return
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for _ in range(200):                      # the stream subscribed once the snapshot arrived
        if events:
            break
        got.wait(0.02)
    assert events and events[0][0] == 'snapshot'
    assert {r['robot_id'] for r in events[0][1]['robots']} == {'greeter-a', 'greeter-b'}
    Robot(console.hub, clock, 'greeter-a').say('Chào bạn, hội trường 5 ở đâu?', language='vi', conversation='sse')
    assert got.wait(10)
    line = events[-1][1]['line']
    assert (line['text'], line['language'], line['side']) == ('Chào bạn, hội trường 5 ở đâu?', 'vi', 'visitor')
    reader.join(5)


def test_audit_has_every_command_and_login_and_cannot_be_changed(world):
    console, _, _ = world
    sam, _ = login(console.url, 'sam')
    entries = sam.get('/api/audit', params={'limit': 1000}).json()['entries']
    actions = {(e['actor'], e['action'], e['result']) for e in entries}
    assert ('olga', 'say', 'sent') in actions and ('olga', 'take_over', 'sent') in actions
    assert ('sam', 'hand_back', 'sent') in actions and ('vera', 'say', 'refused: forbidden') in actions
    assert ('sam', 'login', 'ok') in actions and ('lim', 'login', 'refused: wrong password') in actions
    assert all(e['client'] == '127.0.0.1' for e in entries if e['action'] == 'login')
    from caexpo_console.storage import StorageError
    with pytest.raises(StorageError, match='append-only'):
        with console.storage.transaction() as tx:
            tx.execute("UPDATE console_audit SET result = 'ok'")
    with pytest.raises(StorageError, match='append-only'):
        with console.storage.transaction() as tx:
            tx.execute('DELETE FROM console_audit')
    assert len(console.storage.audit_log(limit=1000)) == len(entries)   # nothing was removed


def test_slow_stream_client_is_dropped_and_counted():
    """A browser that stops reading: its bounded queue fills (after the socket buffers), the console drops it
    and counts it, and the fleet's other work goes on."""
    import base64
    import os
    import socket
    clock, sender = Clock(), RecordingSender()
    console = start_in_thread(sender, clock=clock, tick_s=None, robots=ROBOTS, stream_queue=8)
    try:
        console.auth.add_user('olaf', 'operator', PASSWORD)
        client, answer = login(console.url, 'olaf')   # watching greeter-a: its thumbnails come to this stream
        assert client.post('/api/robots/greeter-a/commands', json={'kind': 'watch', 'watching': True},
                           headers=csrf(answer)).status_code == 202
        cookie = '; '.join(f'{k}={v}' for k, v in client.cookies.items())
        host, port = console.url.removeprefix('http://').split(':')
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(f'GET /api/stream HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n'.encode())
        deadline = time.monotonic() + 5
        while console.app.state.stream.clients == 0 and time.monotonic() < deadline:
            time.sleep(0.02)
        robot = Robot(console.hub, clock, 'greeter-a')
        jpeg = base64.b64encode(b'\xff\xd8\xff' + os.urandom(60000)).decode()
        for i in range(400):           # ~32 MB of events for a client reading nothing
            robot.event('thumbnail', {'jpeg_b64': jpeg, 'width': 320, 'height': 240, 'faces_blurred': 0,
                                      'stamp': float(i)})
            if console.app.state.stream.dropped:
                break
        deadline = time.monotonic() + 10
        while not console.app.state.stream.dropped and time.monotonic() < deadline:
            time.sleep(0.05)
        assert console.app.state.stream.dropped == 1
        assert httpx.get(console.url + '/api/health').json()['stream_dropped'] == 1
        sock.close()
    finally:
        console.stop()


def test_closing_the_last_stream_unwatches_the_robots(world):
    """A tab closed without saying so: the console sends watch false for what that session watched."""
    console, _, sender = world
    client, answer = login(console.url, 'otto')
    watch = client.post('/api/robots/greeter-a/commands', json={'kind': 'watch', 'watching': True},
                        headers=csrf(answer))
    assert watch.status_code == 202 and sender.sent[-1][1:] == (
        'watch', {'command_id': watch.json()['command_id'], 'operator': 'otto', 'watching': True})
    with client.stream('GET', '/api/stream', timeout=10) as response:
        assert next(response.iter_lines()) == 'event: snapshot'
    deadline = time.monotonic() + 10          # the server notices the closed connection on its own time
    def unwatched():   # sent, then audited with its result
        entries = audit_entries(console, actor='otto', action='watch')
        return entries and entries[0]['detail'].get('reason') == 'stream closed'
    while not unwatched() and time.monotonic() < deadline:
        time.sleep(0.05)
    robot_id, kind, body = sender.sent[-1]
    assert (robot_id, kind, body['watching'], body['operator']) == ('greeter-a', 'watch', False, 'otto')
    assert audit_entries(console, actor='otto', action='watch')[0]['detail']['reason'] == 'stream closed'


def test_commands_without_a_session_are_audited_bounded_per_client_and_minute():
    """No session, a forged cookie or an expired one: refused 401 and audited as 'anonymous' with the robot,
    kind and client; past 10 a minute from one address only counted, in one summary row once the minute is
    over; another address still gets its own rows."""
    from caexpo_console.auth import RefusalAudit
    clock, sender = Clock(), RecordingSender()
    console = start_in_thread(sender, clock=clock, tick_s=None, robots=ROBOTS)
    try:
        url = console.url + '/api/robots/greeter-a/commands'
        console.auth.add_user('olga', 'operator', PASSWORD)
        olga, answer = login(console.url, 'olga')
        clock.advance(31 * 60)                   # idle: the cookie is dead
        assert olga.post('/api/robots/greeter-b/commands', json={'kind': 'take_over'},
                         headers=csrf(answer)).status_code == 401
        for i in range(11):
            response = httpx.post(url, json={'kind': 'say', 'text': f'hi {i}'},
                                  cookies={'caexpo_console_session': 'forged'} if i == 5 else None)
            assert response.status_code == 401 and response.json()['error']['code'] == 'unauthenticated'
        assert httpx.post(console.url + '/api/alerts/greeter-b/a1/ack').status_code == 401
        assert httpx.post(url, json={'kind': 'fly', 'to': 'moon'}).status_code == 401
        # from another loopback address: its own allowance
        other = httpx.Client(transport=httpx.HTTPTransport(local_address='127.0.0.2'))
        assert other.post(url, json={'kind': 'stop_speech'}).status_code == 401
        assert sender.sent == []
        rows = audit_entries(console, actor='anonymous')
        assert len(rows) == 11
        assert rows[-1] == {**rows[-1], 'action': 'take_over', 'robot': 'greeter-b',
                            'result': 'refused: unauthenticated', 'client': '127.0.0.1', 'detail': {'fields': []}}
        assert [(e['action'], e['robot'], e['detail']) for e in rows[-3:-1]] == [
            ('say', 'greeter-a', {'fields': ['text']})] * 2
        assert (rows[0]['action'], rows[0]['client']) == ('stop_speech', '127.0.0.2')
        assert console.auth.refusals.flush() == 0          # the minute is not over: nothing summed up yet
        clock.advance(60)
        assert console.auth.refusals.flush() == 1
        summary = audit_entries(console, actor='anonymous', action=RefusalAudit.SUMMARY)
        assert len(summary) == 1 and summary[0]['result'] == 'refused: unauthenticated'
        detail = summary[0]['detail']
        assert (detail['count'], detail['clients'], detail['actions'], detail['robots']) == (
            4, {'127.0.0.1': 4}, {'say': 2, 'acknowledge_alert': 1, 'command': 1}, {'greeter-a': 3, 'greeter-b': 1})
        assert detail['to'] - detail['from'] <= 60
        # a new minute: own rows again
        assert httpx.post(url, json={'kind': 'say', 'text': 'again'}).status_code == 401
        assert audit_entries(console, actor='anonymous')[0]['action'] == 'say'
    finally:
        console.stop()


def test_refusal_audit_caps_rows_per_minute_over_all_clients(tmp_path):
    """Many addresses (IPv6 gives an attacker plenty): at most per_minute rows, the rest in the summaries."""
    from caexpo_console.auth import RefusalAudit, RefusalLimits
    from caexpo_console.storage import open_storage
    storage, clock = open_storage(str(tmp_path / 'a.sqlite3')), Clock(1_796_000_040.0)   # :00 of a minute
    try:
        refusals = RefusalAudit(storage, clock, RefusalLimits(per_client=2, per_minute=5, max_clients=3))
        own = [refusals.record('anonymous', 'say', 'greeter-a', {}, 'refused: unauthenticated', f'2001:db8::{i}')
               for i in range(4) for _ in range(3)]
        assert own == [True, True, False, True, True, False, True, False, False, False, False, False]
        refusals.record('olga', 'POST /api/logout', None, {}, 'refused: csrf', '2001:db8::9')
        assert len(storage.audit_log(limit=100)) == 5
        clock.advance(60)                             # the next minute: its first refusal writes the summaries
        assert refusals.record('anonymous', 'say', None, {}, 'refused: unauthenticated', '2001:db8::1')
        summaries = storage.audit_log(action=RefusalAudit.SUMMARY)
        assert [(e['actor'], e['result'], e['detail']['count'], e['at']) for e in summaries] == [
            ('olga', 'refused: csrf', 1, 1_796_000_100.0), ('anonymous', 'refused: unauthenticated', 7,
                                                           1_796_000_100.0)]
        assert summaries[1]['detail']['clients'] == {'2001:db8::0': 1, '2001:db8::1': 1, '2001:db8::2': 2,
                                                     '(other)': 3}
        refusals.record('anonymous', 'say', None, {}, 'refused: unauthenticated', '2001:db8::1')
        refusals.record('anonymous', 'say', None, {}, 'refused: unauthenticated', '2001:db8::1')
        assert refusals.flush(force=True) == 1        # at shutdown: the current minute's count too
        assert storage.audit_log(action=RefusalAudit.SUMMARY)[0]['detail']['count'] == 1
    finally:
        storage.close()


def test_anonymous_is_not_a_user_name(world):
    console, _, _ = world
    ada, answer = login(console.url, 'ada')
    response = ada.post('/api/users', json={'name': 'Anonymous', 'role': 'viewer', 'password': PASSWORD},
                        headers=csrf(answer))
    assert response.status_code == 400 and 'anonymous' in response.json()['error']['message']


def test_open_views_are_confirmed_to_their_robots_unaudited():
    """Every WATCH_REFRESH_S the ticker re-sends `watch` for each open view: robots forget a watcher not
    confirmed within their watch_ttl_s, so a console that died leaves no banner up. Not audited (no new act)."""
    clock, sender = Clock(), RecordingSender()
    console = start_in_thread(sender, clock=clock, tick_s=None, robots=ROBOTS)
    try:
        console.auth.add_user('olga', 'operator', PASSWORD)
        client, answer = login(console.url, 'olga')
        watch = client.post('/api/robots/greeter-a/commands', json={'kind': 'watch', 'watching': True},
                            headers=csrf(answer))
        assert watch.status_code == 202
        audited = len(audit_entries(console, action='watch'))
        opened = threading.Event()

        def tab():   # an open view is a session with an open stream (test_console_review.py: without, none)
            with client.stream('GET', '/api/stream', timeout=30) as response:
                for _line in response.iter_lines():
                    opened.set()
        threading.Thread(target=tab, daemon=True).start()
        assert opened.wait(5)
        assert console.app.state.refresh_watches() == 1
        robot_id, kind, body = sender.sent[-1]
        assert (robot_id, kind, body['operator'], body['watching']) == ('greeter-a', 'watch', 'olga', True)
        assert body['command_id'] != watch.json()['command_id']
        assert len(audit_entries(console, action='watch')) == audited
        client.post('/api/robots/greeter-a/commands', json={'kind': 'watch', 'watching': False}, headers=csrf(answer))
        assert console.app.state.refresh_watches() == 0   # the view closed: nothing more to confirm
    finally:
        console.stop()


def test_a_robot_s_thumbnails_go_only_to_the_sessions_watching_it():
    clock, sender = Clock(), RecordingSender()
    console = start_in_thread(sender, clock=clock, tick_s=None, robots=ROBOTS)
    try:
        console.auth.add_user('olga', 'operator', PASSWORD)
        console.auth.add_user('otto', 'operator', PASSWORD)
        watcher, answer = login(console.url, 'olga')
        other, _ = login(console.url, 'otto')
        assert watcher.post('/api/robots/greeter-a/commands', json={'kind': 'watch', 'watching': True},
                            headers=csrf(answer)).status_code == 202
        robot = Robot(console.hub, clock, 'greeter-a')
        seen = {}
        with watcher.stream('GET', '/api/stream', timeout=10) as a, other.stream('GET', '/api/stream', timeout=10) as b:
            lines = {'olga': a.iter_lines(), 'otto': b.iter_lines()}
            for name in lines:
                assert next(lines[name]) == 'event: snapshot'
            robot.event('thumbnail', {'jpeg_b64': '/9j/AAAA', 'width': 8, 'height': 8, 'faces_blurred': 0,
                                      'stamp': 1.0})
            robot.event('utterance', {'side': 'visitor', 'text': 'hello', 'language': 'en', 'final': True})
            for name, it in lines.items():   # each stream up to the utterance that follows the thumbnail
                events = []
                for line in it:
                    if line.startswith('event: '):
                        events.append(line.removeprefix('event: '))
                        if events[-1] == 'transcript':
                            break
                seen[name] = events
        assert 'thumbnail' in seen['olga'] and 'thumbnail' not in seen['otto']
    finally:
        console.stop()
