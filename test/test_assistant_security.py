"""Security and privacy of the assistant API on real servers: every /v1 operation needs a token; a robot
works only with its own sessions and bookings; staff floods are limited (429) and cannot push the real
request off the staff's list; names and contacts are purged after their retention and never logged."""
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from caexpo_assistant import start_in_thread
from caexpo_assistant.auth import TokenError, new_token, registry_from, token_hash
from caexpo_assistant.cli import main as assistant_cli
from caexpo_assistant.limits import Limit, RateLimiter, RateLimits
from loopback_http import free_port

DAY = '2025-09-18'
OPENAPI = Path(__file__).resolve().parent.parent / 'docs' / 'assistant-openapi.json'
NAME, CONTACT = 'Nguyễn Thị Hồng Nhung', '+84 912 345 678'


def open_session(client, robot, visitor=None):
    body = {'robot_id': robot, 'entrance': 'entrance_a', 'language': 'vi'}
    if visitor:
        body['visitor'] = visitor
    response = client.post('/v1/sessions', json=body)
    assert response.status_code == 201, response.text
    return response.json()['session_id']


def booking(session=None, start='10:00', day=DAY, **extra):
    return {'exhibitor_id': 'guangxi-beidou-satcom', 'day': day, 'start': start, 'visitor_name': NAME,
            'contact': CONTACT, 'language': 'vi', **({'session_id': session} if session else {}), **extra}


def test_every_operation_without_a_token_is_401_and_the_documents_stay_public(assistant):
    paths = json.loads(OPENAPI.read_text(encoding='utf-8'))['paths']
    operations = [(method, path) for path, ops in paths.items() for method in ops]
    assert len(operations) >= 15 and all(path.startswith('/v1/') for _, path in operations)
    values = {'session_id': 'a' * 32, 'exhibitor_id': 'liuzhou-ev', 'meeting_id': 'b' * 32, 'request_id': 'c' * 32}
    for method, path in operations:
        url = assistant.url + path.format(**values)
        for headers, challenge in (({}, 'Bearer realm="caexpo-assistant"'),
                                   ({'Authorization': f'Bearer {new_token()}'}, 'error="invalid_token"'),
                                   ({'Authorization': f'Basic {assistant.staff_token}'}, 'Bearer realm=')):
            response = httpx.request(method.upper(), url, headers=headers, json={'text': 'hi', 'language': 'en'})
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()['error']['code'] == 'unauthorized'
            assert challenge in response.headers['WWW-Authenticate'], response.headers
    # Refused before the body is read or parsed: a malformed or huge body is still just 401.
    assert httpx.post(f'{assistant.url}/v1/meetings', content=b'{"x": ').status_code == 401
    assert httpx.post(f'{assistant.url}/v1/meetings', content=b'x' * 200_000).status_code == 401
    assert httpx.get(f'{assistant.url}/v1/unknown').status_code == 401
    for public in ('/openapi.json', '/docs'):
        assert httpx.get(assistant.url + public).status_code == 200
    documented = json.loads(OPENAPI.read_text(encoding='utf-8'))
    assert documented['components']['securitySchemes']['HTTPBearer']['scheme'] == 'bearer'
    assert all(op['security'] == [{'HTTPBearer': []}] for ops in paths.values() for op in ops.values())


def test_a_served_process_refuses_to_start_without_tokens(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith('CAEXPO_ASSISTANT_')}
    done = subprocess.run([sys.executable, '-m', 'caexpo_assistant.cli', 'serve', '--port', '0',
                           '--db', f'sqlite:///{tmp_path / "a.sqlite3"}'], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2 and 'no tokens configured' in done.stderr, done.stderr
    assert 'CAEXPO_ASSISTANT_ROBOT_TOKENS' in done.stderr


def test_tokens_from_the_environment_and_a_file_hashed_or_not(tmp_path):
    robot, staff, hashed = new_token(), new_token(), new_token()
    tokens = tmp_path / 'tokens.yaml'
    tokens.write_text(f'robots:\n  greeter-7: {token_hash(hashed)}\nstaff:\n  desk-a: {staff}\n')
    with pytest.raises(TokenError, match='readable by others'):
        registry_from(tokens, environ={})
    tokens.chmod(0o600)
    pairs = f'greeter-1:{robot}, greeter-2:{new_token()}'
    registry = registry_from(tokens, environ={'CAEXPO_ASSISTANT_ROBOT_TOKENS': pairs})
    assert registry.authenticate(robot).name == 'greeter-1' and registry.authenticate(robot).role == 'robot'
    assert (registry.authenticate(hashed).name, registry.authenticate(staff).role) == ('greeter-7', 'staff')
    assert registry.authenticate(token_hash(hashed)) is None and registry.authenticate(robot[:-1]) is None
    with pytest.raises(TokenError, match='at least 16'):
        registry_from(None, environ={'CAEXPO_ASSISTANT_ROBOT_TOKENS': 'greeter-1:secret'})
    with pytest.raises(TokenError, match='already robot greeter-1'):
        registry_from(None, environ={'CAEXPO_ASSISTANT_ROBOT_TOKENS': f'greeter-1:{robot},greeter-2:{robot}'})


def test_one_robot_cannot_read_cancel_or_use_another_robots_sessions_and_bookings(assistant):
    a, b, staff = assistant.client('robot-a'), assistant.client('robot-b'), assistant.client()
    session_a, other_a = open_session(a, 'robot-a', {'name': NAME}), open_session(a, 'robot-a')
    session_b = open_session(b, 'robot-b')
    booked = a.post('/v1/meetings', json=booking(session_a), headers={'Idempotency-Key': 'k1'})
    assert booked.status_code == 201 and booked.json()['robot_id'] == 'robot-a'
    meeting = booked.json()
    assert re.fullmatch('[34679ACDEFGHJKMNPQRTUVWXY]{8}', meeting['code']), meeting['code']
    url = f'/v1/meetings/{meeting["id"]}'
    for client, params in ((b, {}), (b, {'session_id': session_b}), (b, {'session_id': session_a}),
                           (a, {}), (a, {'session_id': other_a})):
        for method in ('GET', 'DELETE'):
            response = client.request(method, url, params=params)
            assert response.status_code == 403 and response.json()['error']['code'] == 'forbidden', response.text
            assert NAME not in response.text and CONTACT not in response.text
    wrong_code = 'AAAAAAAA' if meeting['code'] != 'AAAAAAAA' else 'CCCCCCCC'
    assert b.get(url, headers={'X-Booking-Code': wrong_code}).status_code == 403
    # The session that booked, the visitor's code (at any robot) and staff may read it.
    assert a.get(url, params={'session_id': session_a}).json()['contact'] == CONTACT
    assert b.get(url, headers={'X-Booking-Code': meeting['code'].lower()}).json()['visitor_name'] == NAME
    assert staff.get(url).json()['status'] == 'booked'
    # Another robot's idempotency key is its own: no replay of robot-a's stored booking.
    replay = b.post('/v1/meetings', json=booking(session_b, start='10:30'), headers={'Idempotency-Key': 'k1'})
    assert replay.status_code == 201 and replay.json()['id'] != meeting['id']
    # Sessions: turns, ending, opening in another robot's name, booking into another robot's session.
    turn = {'text': 'xin chào', 'language': 'vi'}
    assert b.post(f'/v1/sessions/{session_a}/turns', json=turn).status_code == 403
    assert staff.post(f'/v1/sessions/{session_a}/turns', json=turn).status_code == 403
    assert b.delete(f'/v1/sessions/{session_a}').status_code == 403
    assert b.post('/v1/sessions', json={'robot_id': 'robot-a', 'entrance': 'entrance_a', 'language': 'en'}
                  ).status_code == 403
    assert b.post('/v1/meetings', json=booking(session_a, start='11:00')).status_code == 403
    assert b.post('/v1/meetings', json=booking(start='11:00', robot_id='robot-a')).status_code == 403
    assert b.post('/v1/staff-requests', json={'robot_id': 'robot-a', 'entrance': 'entrance_a',
                                              'language': 'vi'}).status_code == 403
    assert a.post(f'/v1/sessions/{session_a}/turns', json=turn).status_code == 200
    # Roles: the staff's list is not a robot's; a staff token holds no conversations.
    assert a.get('/v1/staff-requests').status_code == 403
    assert staff.post('/v1/sessions', json={'robot_id': 'staff', 'entrance': 'entrance_a', 'language': 'en'}
                      ).status_code == 403
    assert b.delete(url, headers={'X-Booking-Code': meeting['code']}).json()['status'] == 'cancelled'
    assert a.delete(f'/v1/sessions/{session_a}').status_code == 200
    for client in (a, b, staff):
        client.close()


def test_a_staff_flood_gets_429_and_the_real_request_stays_listed():
    with start_in_thread(today=DAY) as running:   # the default limits of server.yaml
        real, flood, staff = running.client('robot-real'), running.client('robot-flood'), running.client()
        session = open_session(real, 'robot-real')
        asked = real.post('/v1/staff-requests', json={'robot_id': 'robot-real', 'entrance': 'entrance_c',
                                                      'language': 'vi', 'session_id': session})
        assert asked.status_code == 201
        statuses = []
        for i in range(40):
            response = flood.post('/v1/staff-requests', json={'robot_id': 'robot-flood', 'entrance': 'entrance_a',
                                                              'language': 'en', 'reason': f'flood {i}'})
            statuses.append(response.status_code)
            if response.status_code == 429:
                assert int(response.headers['Retry-After']) >= 1
                assert response.json()['error']['code'] == 'rate_limited'
        # One open request per robot (here without sessions): the first 201, repeats 200 with it, then 429.
        assert statuses[0] == 201 and set(statuses[1:10]) == {200} and set(statuses[10:]) == {429}, statuses
        listed = staff.get('/v1/staff-requests').json()
        assert [r['id'] for r in listed][0] == asked.json()['id']        # oldest first: the real one on top
        assert [r['robot_id'] for r in listed].count('robot-flood') == 1
        # The other robot is not throttled by the flood; staff close the real one when they are there.
        assert real.get('/v1/health').status_code == 200
        assert staff.delete(f'/v1/staff-requests/{asked.json()["id"]}').json()['status'] == 'closed'
        assert asked.json()['id'] not in [r['id'] for r in staff.get('/v1/staff-requests').json()]
        assert asked.json()['id'] in [r['id'] for r in staff.get('/v1/staff-requests', params={'status': 'all'}).json()]
        for client in (real, flood, staff):
            client.close()


def test_staff_requests_from_many_sessions_are_limited_per_robot_in_the_database():
    """A robot opening a session per request (or asking through turns) meets its allowance, counted in the
    database so every server of a fleet and the turn path see it."""
    with start_in_thread(today=DAY, rate_limits=None, staff_requests_per_robot=3) as running:
        robot = running.client('robot-9')
        statuses = []
        for _ in range(5):
            session = open_session(robot, 'robot-9')
            response = robot.post('/v1/staff-requests', json={'robot_id': 'robot-9', 'entrance': 'entrance_a',
                                                              'language': 'en', 'session_id': session})
            statuses.append(response.status_code)
        assert statuses == [201, 201, 201, 429, 429]
        assert 500 <= int(response.headers['Retry-After']) <= 601
        robot.close()


def test_rate_limits_per_robot_and_endpoint_group_with_retry_after():
    limits = {'turns': {'rate': 0.01, 'burst': 2}, 'reads': {'rate': 0.01, 'burst': 3}}
    with start_in_thread(today=DAY, rate_limits=limits) as running:
        one, two = running.client('robot-1'), running.client('robot-2')
        session = open_session(one, 'robot-1')
        turn = {'text': 'hello', 'language': 'en'}
        assert [one.post(f'/v1/sessions/{session}/turns', json=turn).status_code for _ in range(3)] == [200, 200, 429]
        limited = one.post(f'/v1/sessions/{session}/turns', json=turn)
        assert limited.status_code == 429 and 90 <= int(limited.headers['Retry-After']) <= 100
        assert one.get('/v1/events').status_code == 200                # another group: its own bucket
        session_two = open_session(two, 'robot-2')                     # another robot: its own buckets
        assert two.post(f'/v1/sessions/{session_two}/turns', json=turn).status_code == 200
        one.close()
        two.close()


def test_the_default_limits_never_throttle_a_robot_asking_once_a_second():
    """On an injected clock: 1 turn a second for a whole expo day, with bursts of 20 quick questions."""
    now = [0.0]
    limiter = RateLimiter(RateLimits(), clock=lambda: now[0])
    for second in range(9 * 3600):
        now[0] = float(second)
        for _ in range(20 if second % 600 == 0 else 1):
            assert limiter.take(('robot', 'greeter-1'), 'turns') is None, second
    limiter = RateLimiter(RateLimits(turns=Limit(rate=1, burst=2)), clock=lambda: now[0])
    assert [limiter.take(('robot', 'r'), 'turns') for _ in range(3)] == [None, None, pytest.approx(1.0)]
    now[0] += 1.0
    assert limiter.take(('robot', 'r'), 'turns') is None


def raw_database(path: Path) -> bytes:
    return b''.join(p.read_bytes() for p in path.parent.glob(path.name + '*'))


def test_retention_deletes_names_contacts_and_words_and_keeps_them_until_then(tmp_path, capsys):
    db = tmp_path / 'assistant.sqlite3'
    with start_in_thread(db_url=f'sqlite:///{db}', today=DAY) as running:
        robot, staff = running.client('robot-p'), running.client()
        session = open_session(robot, 'robot-p', {'name': NAME, 'contact': CONTACT})
        meeting = robot.post('/v1/meetings', json=booking(session), headers={'Idempotency-Key': 'p1'}).json()
        later = robot.post('/v1/meetings', json=booking(session, start='11:00', day='2025-09-19')).json()
        robot.post('/v1/staff-requests', json={'robot_id': 'robot-p', 'entrance': 'entrance_a', 'language': 'vi',
                                               'reason': f'Tôi là {NAME}, gọi cho tôi {CONTACT}',
                                               'session_id': session})
        assert NAME.encode() in raw_database(db) and CONTACT.encode() in raw_database(db)
        url = f'sqlite:///{db}'
        # Before the end of the venue's day (UTC+8) nothing goes; a given retention counts from the meeting's end.
        assert assistant_cli(['purge', '--db', url]) == 0
        assert 'meetings 0, sessions 0, staff_requests 0, idempotency 0' in capsys.readouterr().out
        assert staff.get(f'/v1/meetings/{meeting["id"]}').json()['visitor_name'] == NAME
        tomorrow = (dt.datetime.now(dt.timezone(dt.timedelta(hours=8))) + dt.timedelta(days=1)).replace(
            hour=0, minute=0, second=1)
        assert assistant_cli(['purge', '--db', url, '--now', tomorrow.isoformat()]) == 0
        assert 'meetings 2, sessions 1, staff_requests 1, idempotency 1' in capsys.readouterr().out
        for purged in (meeting, later):
            body = staff.get(f'/v1/meetings/{purged["id"]}').json()
            assert (body['visitor_name'], body['contact'], body['status']) == ('', None, 'booked')
        listed = staff.get('/v1/staff-requests').json()
        assert [r['reason'] for r in listed] == ['']
        with running.storage.read() as tx:
            assert tx.execute('SELECT visitor, context FROM sessions') == [('{}', '{}')]
        raw = raw_database(db)
        for secret in (NAME, CONTACT, NAME.split()[-1], '912 345'):
            assert secret.encode() not in raw, secret
        robot.close()
        staff.close()


def test_a_retention_in_seconds(tmp_path):
    from caexpo_assistant.service import purge_personal_data
    with start_in_thread(today=DAY, retention_s=3600) as running:
        robot, staff = running.client('robot-s'), running.client()
        meeting = robot.post('/v1/meetings', json=booking()).json()
        now = dt.datetime.now(dt.timezone.utc)
        assert purge_personal_data(running.storage, retention_s=3600, now=now + dt.timedelta(minutes=30)) == {
            'meetings': 0, 'sessions': 0, 'staff_requests': 0, 'idempotency': 0}
        assert purge_personal_data(running.storage, retention_s=3600, now=now + dt.timedelta(hours=2))['meetings'] == 1
        assert staff.get(f'/v1/meetings/{meeting["id"]}').json()['contact'] is None
        robot.close()
        staff.close()


def test_names_and_contacts_never_reach_the_servers_log(tmp_path):
    """Every line the server and uvicorn write (debug level, access log on) during a booking flow."""
    robot_token, staff_token = new_token(), new_token()
    tokens = tmp_path / 'tokens.yaml'
    tokens.touch(mode=0o600)
    tokens.write_text(f'robots:\n  greeter-1: {robot_token}\nstaff:\n  desk: {staff_token}\n')
    config = tmp_path / 'server.yaml'
    config.write_text(f'log_level: debug\ntokens_file: {tokens}\n')
    port, log_path = free_port(), tmp_path / 'server.log'
    with open(log_path, 'wb') as log:
        process = subprocess.Popen([sys.executable, '-m', 'caexpo_assistant.cli', '--config', str(config), 'serve',
                                    '--port', str(port), '--today', DAY, '--db', f'sqlite:///{tmp_path / "a.sqlite3"}'],
                                   stdout=log, stderr=log)
    robot = httpx.Client(base_url=f'http://127.0.0.1:{port}', headers={'Authorization': f'Bearer {robot_token}'})
    staff = httpx.Client(base_url=f'http://127.0.0.1:{port}', headers={'Authorization': f'Bearer {staff_token}'})
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if robot.get('/v1/health', timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        session = open_session(robot, 'greeter-1', {'name': NAME, 'contact': CONTACT})
        for text in (f'Tôi tên là {NAME}, số điện thoại {CONTACT}', 'Đặt lịch hẹn với LionSat lúc 10:00', NAME):
            assert robot.post(f'/v1/sessions/{session}/turns', json={'text': text, 'language': 'vi',
                                                                     'visitor': {'name': NAME, 'contact': CONTACT}}
                              ).status_code == 200
        meeting = robot.post('/v1/meetings', json=booking(session, start='14:00')).json()
        assert robot.post('/v1/meetings', json=booking(session, start='14:00')).status_code == 409
        assert robot.post('/v1/meetings', json=booking(session, start='14:10')).status_code == 422
        assert robot.post('/v1/meetings', json=booking(session, visitor_name=f'<b>{NAME}</b>')).status_code == 422
        assert staff.get(f'/v1/meetings/{meeting["id"]}').json()['contact'] == CONTACT
        assert robot.delete(f'/v1/meetings/{meeting["id"]}', params={'session_id': session}).status_code == 200
        assert robot.post('/v1/staff-requests', json={'robot_id': 'greeter-1', 'entrance': 'entrance_a',
                                                      'language': 'vi', 'reason': NAME}).status_code == 201
        assert staff.get('/v1/staff-requests').status_code == 200
        assert httpx.get(f'http://127.0.0.1:{port}/v1/meetings/{meeting["id"]}').status_code == 401
    finally:
        robot.close()
        staff.close()
        process.terminate()
        process.wait(10)
    text = log_path.read_text(encoding='utf-8', errors='replace')
    assert 'POST /v1/meetings HTTP/1.1" 201' in text and '/turns HTTP/1.1" 200' in text, text[-2000:]
    for secret in (NAME, CONTACT, NAME.split()[-1], '912 345', '912%20345', 'Nhung', robot_token, staff_token):
        assert secret not in text, secret
