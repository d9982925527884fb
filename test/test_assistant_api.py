"""The /v1 contract of the reference assistant on a real loopback server: bad input, concurrent bookings,
idempotency, and the OpenAPI document in the repository against the running server. `http` is robot
ROBOT's client (conftest); authentication and limits themselves: test_assistant_security."""
import json
import threading
from pathlib import Path

import httpx
import pytest

from caexpo_assistant.cli import openapi_document

DAY = '2025-09-18'
ROBOT = 'robot-test'   # conftest's `http` carries this robot's token
OPENAPI_FILE = Path(__file__).resolve().parent.parent / 'docs' / 'assistant-openapi.json'


@pytest.fixture
def session(http):
    response = http.post('/v1/sessions', json={'robot_id': ROBOT, 'entrance': 'entrance_a', 'language': 'en'})
    return response.json()['session_id']


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    body = response.json()
    assert body['error']['code'] == code and body['error']['message'], body
    return body['error']


def meeting(**overrides):
    body = {'exhibitor_id': 'guangxi-beidou-satcom', 'day': DAY, 'start': '10:00', 'visitor_name': 'Siti Aminah',
            'language': 'ms'}
    body.update(overrides)
    return body


def test_health(http):
    body = http.get('/v1/health').json()
    assert body['status'] == 'ok' and body['storage'] == 'sqlite' and body['catalog_version'] >= 1


def test_malformed_json_is_a_400_with_a_clear_body(http, session):
    response = http.post(f'/v1/sessions/{session}/turns', content=b'{"text": "hi", "language": ',
                         headers={'Content-Type': 'application/json'})
    assert_error(response, 400, 'malformed_json')


def test_a_1mb_body_is_refused_before_parsing(http, session):
    huge = json.dumps({'text': 'x' * (1 << 20), 'language': 'en'})
    assert_error(http.post(f'/v1/sessions/{session}/turns', content=huge,
                           headers={'Content-Type': 'application/json'}), 413, 'body_too_large')

    def chunks():  # no Content-Length: the limit is enforced while streaming too
        for _ in range(16):
            yield b'x' * 65536
    assert_error(http.post('/v1/meetings', content=chunks(), headers={'Content-Type': 'application/json'}),
                 413, 'body_too_large')


def test_unknown_language_and_missing_fields_name_the_field(http, session):
    error = assert_error(http.post(f'/v1/sessions/{session}/turns', json={'text': 'hi', 'language': 'fr'}),
                         422, 'invalid_request')
    assert 'language' in error['message'] and error['details'][0]['loc'][-1] == 'language'
    error = assert_error(http.post('/v1/sessions', json={'robot_id': 'r1', 'language': 'en'}), 422, 'invalid_request')
    assert 'entrance' in error['message']
    assert_error(http.post(f'/v1/sessions/{session}/turns', json={'text': '', 'language': 'en'}),
                 422, 'invalid_request')
    assert_error(http.post('/v1/sessions', json={'robot_id': ROBOT, 'entrance': 'entrance_z', 'language': 'en'}),
                 422, 'unknown_entrance')
    assert_error(http.post('/v1/meetings', json=meeting(start='10:10')), 422, 'not_a_slot')
    assert_error(http.post('/v1/meetings', json=meeting(day='2025-10-01')), 422, 'not_an_expo_day')


def test_a_query_parameter_the_operation_does_not_have_is_refused(http):
    # a misspelt `langauge` would otherwise be ignored and the answer come in the default language
    error = assert_error(http.get('/v1/exhibitors', params={'q': 'coffee', 'langauge': 'vi'}), 422, 'invalid_request')
    assert 'langauge' in error['message'] and error['details'][0]['loc'] == ['query', 'langauge']
    assert_error(http.get('/v1/directions', params={'entrance': 'north', 'place': 'toilet', 'vë\U000f6d27': 'I'}),
                 422, 'invalid_request')
    assert http.get('/v1/exhibitors', params={'q': 'coffee', 'language': 'vi', 'limit': 3}).status_code == 200


def test_sql_like_and_markup_strings_are_refused_or_harmless(http, session):
    assert_error(http.post('/v1/sessions', json={'robot_id': "r1'; DROP TABLE meetings;--", 'entrance': 'entrance_a',
                                                 'language': 'en'}), 422, 'invalid_request')
    assert_error(http.post('/v1/meetings', json=meeting(visitor_name='<script>alert(1)</script>')),
                 422, 'invalid_request')
    assert_error(http.get("/v1/exhibitors/x' OR '1'='1"), 404, 'unknown_exhibitor')
    assert_error(http.get('/v1/meetings/1 OR 1=1'), 404, 'unknown_meeting')
    # Free text is what a visitor said: odd strings get a polite answer, never an error or an injection.
    for text in ("'; DROP TABLE meetings; --", '<img src=x onerror=alert(1)>', 'Robert"); DELETE FROM sessions;--'):
        response = http.post(f'/v1/sessions/{session}/turns', json={'text': text, 'language': 'en'})
        # (what it means is the router's business: 'DELETE FROM' may read as a cancel; none of it runs as SQL)
        assert response.status_code == 200 and '<img' not in response.json()['reply'], response.text
    found = http.get('/v1/exhibitors', params={'q': "durian' OR 1=1 --"}).json()
    assert {e['id'] for e in found} == {'musang-king-durian', 'chanthaburi-durian'}
    assert http.post('/v1/meetings', json=meeting(start='16:30')).status_code == 201  # tables still there


def test_unknown_session_path_and_method(http):
    assert_error(http.post('/v1/sessions/nope/turns', json={'text': 'hi', 'language': 'en'}), 404, 'unknown_session')
    assert_error(http.get('/v1/nothing-here'), 404, 'not_found')
    assert_error(http.put('/v1/meetings'), 405, 'method_not_allowed')


def test_ended_session_refuses_turns(http, session):
    assert http.delete(f'/v1/sessions/{session}').status_code == 200
    assert http.delete(f'/v1/sessions/{session}').status_code == 200  # idempotent
    assert_error(http.post(f'/v1/sessions/{session}/turns', json={'text': 'hi', 'language': 'en'}),
                 409, 'session_ended')


def test_server_stays_up_after_bad_input(http):
    for _ in range(20):
        http.post('/v1/meetings', content=b'\xff\xfe garbage', headers={'Content-Type': 'application/json'})
    assert http.get('/v1/health').status_code == 200


def test_twenty_concurrent_bookings_of_one_slot_exactly_one_wins(assistant):
    barrier = threading.Barrier(20)
    results = []

    def book(i):
        with assistant.client(f'robot-{i}') as client:   # twenty robots at once
            barrier.wait()
            response = client.post('/v1/meetings', json=meeting(start='14:00', visitor_name=f'Buyer {i}'),
                                   headers={'Idempotency-Key': f'buyer-{i}'})
            results.append((response.status_code, response.json()))
    threads = [threading.Thread(target=book, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19, statuses
    assert all(body['error']['code'] == 'slot_taken' and 'already booked' in body['error']['message']
               for status, body in results if status == 409)
    slots = httpx.get(f'{assistant.url}/v1/exhibitors/guangxi-beidou-satcom/slots', params={'day': DAY},
                      headers=assistant.headers(ROBOT)).json()
    assert [s['free'] for s in slots if s['start'] == '14:00'] == [False]


def test_idempotency_key_replays_instead_of_booking_twice(assistant, http):
    barrier = threading.Barrier(8)
    ids = []

    def book():
        with assistant.client(ROBOT) as client:
            barrier.wait()
            response = client.post('/v1/meetings', json=meeting(start='15:00'), headers={'Idempotency-Key': 'same-key'})
            ids.append((response.status_code, response.json()['id'], response.json()['code']))
    threads = [threading.Thread(target=book) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1 and ids[0][0] == 201, ids
    assert_error(http.post('/v1/meetings', json=meeting(start='15:30'), headers={'Idempotency-Key': 'same-key'}),
                 422, 'idempotency_key_reused')
    meeting_id, code = ids[0][1:]   # booked without a session: its code lets the robot cancel it
    first = http.delete(f'/v1/meetings/{meeting_id}', headers={'Idempotency-Key': 'cancel-1', 'X-Booking-Code': code})
    again = http.delete(f'/v1/meetings/{meeting_id}', headers={'X-Booking-Code': code.lower()}).json()
    first = first.json()
    assert first['status'] == again['status'] == 'cancelled'
    assert http.post('/v1/meetings', json=meeting(start='15:00', visitor_name='Next Buyer')).status_code == 201


def test_openapi_document_in_the_repository_matches_the_running_server(http):
    documented = json.loads(OPENAPI_FILE.read_text(encoding='utf-8'))
    served = http.get('/openapi.json').json()
    assert documented == served, ('docs/assistant-openapi.json is stale: regenerate it with '
                                  '"caexpo-assistant openapi > docs/assistant-openapi.json"')
    assert served == openapi_document()


def test_every_documented_operation_answers_with_a_documented_status(http, assistant):
    """Without schemathesis: call each path and method with a valid request; the status must be one the
    document lists and every error must have the documented error body. The staff's operations with the
    staff token, the others with the robot's."""
    documented = json.loads(OPENAPI_FILE.read_text(encoding='utf-8'))
    session = http.post('/v1/sessions', json={'robot_id': ROBOT, 'entrance': 'entrance_b', 'language': 'ko'}).json()
    booked = http.post('/v1/meetings', json=meeting(start='11:00', session_id=session['session_id'])).json()
    called = http.post('/v1/staff-requests', json={'robot_id': ROBOT, 'entrance': 'entrance_b', 'language': 'ko'})
    values = {'session_id': session['session_id'], 'exhibitor_id': 'liuzhou-ev', 'meeting_id': booked['id'],
              'request_id': called.json()['id']}
    bodies = {'/v1/sessions': {'robot_id': ROBOT, 'entrance': 'entrance_b', 'language': 'ko'},
              '/v1/sessions/{session_id}/turns': {'text': '두리안 업체', 'language': 'ko'},
              '/v1/meetings': meeting(exhibitor_id='liuzhou-ev', start='10:30'),
              '/v1/staff-requests': {'robot_id': ROBOT, 'entrance': 'entrance_b', 'language': 'ko'}}
    queries = {'/v1/exhibitors': {'q': 'rice'}, '/v1/directions': {'entrance': 'entrance_b', 'place': 'food_court'},
               '/v1/meetings/{meeting_id}': {'session_id': session['session_id']}}
    staff = {('get', '/v1/staff-requests'), ('delete', '/v1/staff-requests/{request_id}')}
    order = sorted(((path, method) for path, ops in documented['paths'].items() for method in ops),
                   key=lambda pm: pm[1] == 'delete')  # deletes last: they end the session / meeting used above
    assert len(order) >= 14
    for path, method in order:
        url = path.format(**values)
        response = http.request(method.upper(), url, json=bodies.get(path), params=queries.get(path),
                                headers=assistant.headers() if (method, path) in staff else None)
        allowed = documented['paths'][path][method]['responses']
        assert str(response.status_code) in allowed, (method, path, response.status_code, response.text)
        assert 200 <= response.status_code < 300, (method, path, response.text)
        assert response.json() is not None


def test_bodies_json_cannot_decode_are_malformed_json_not_http_error(http, session):
    """Before: bytes that are not UTF-8, or JSON nested past Python's recursion limit, got FastAPI's
    400 `http_error` "There was an error parsing the body" instead of the documented code."""
    for body in (b'{"text": "\xff\xfe\xfa", "language": "en"}', b'[' * 30_000 + b']' * 30_000):
        error = assert_error(http.post(f'/v1/sessions/{session}/turns', content=body,
                                       headers={'Content-Type': 'application/json'}), 400, 'malformed_json')
        assert error['message'] == 'the request body is not valid JSON'


def test_a_method_not_allowed_says_which_are(http):
    """Before: TRACE (or PUT) answered 405 without the Allow header HTTP requires."""
    for method, path, allowed in (('TRACE', '/v1/meetings', {'POST'}), ('PUT', '/v1/meetings/m1', {'GET', 'DELETE'}),
                                  ('PATCH', '/v1/sessions', {'POST'}), ('POST', '/v1/health', {'GET'})):
        response = http.request(method, path)
        assert_error(response, 405, 'method_not_allowed')
        assert allowed <= {m.strip() for m in response.headers['Allow'].split(',')}, response.headers


@pytest.mark.parametrize('day', ['0', '1', '-1', '20250918', '1726617600', '2025-9-18', '2025-02-30'])
def test_a_day_is_a_real_date_written_yyyy_mm_dd(http, day):
    """Before: `day=0` was read as a Unix time, 1970-01-01 (events answered 200 with no events)."""
    for path in ('/v1/events', '/v1/exhibitors/liuzhou-ev/slots'):
        error = assert_error(http.get(path, params={'day': day}), 422, 'invalid_request')
        assert error['details'][0]['loc'] == ['query', 'day'], error
    error = assert_error(http.post('/v1/meetings', json=meeting(day=int(day) if day.lstrip('-').isdigit() else day)),
                         422, 'invalid_request')
    assert error['details'][0]['loc'] == ['body', 'day'], error


def test_events_of_a_day_outside_the_expo_are_refused_like_slots(http):
    assert_error(http.get('/v1/events', params={'day': '2025-10-01'}), 422, 'not_an_expo_day')
    assert_error(http.get('/v1/exhibitors/liuzhou-ev/slots', params={'day': '2025-10-01'}), 422, 'not_an_expo_day')
    assert http.get('/v1/events', params={'day': DAY}).status_code == 200
