"""The PostgreSQL code path: a fleet of two assistant servers sharing one database.

Runs only when psycopg 3 is importable and CAEXPO_TEST_POSTGRES_URL names a database this test may
wipe (it drops the assistant's tables first), e.g. postgresql://postgres@127.0.0.1:55432/caexpo_test.
"""
import os
import threading

import httpx
import pytest

psycopg = pytest.importorskip('psycopg', reason='psycopg 3 not installed (pip install "psycopg[binary]==3.3.9")')
PG_URL = os.environ.get('CAEXPO_TEST_POSTGRES_URL')
pytestmark = pytest.mark.skipif(not PG_URL, reason='set CAEXPO_TEST_POSTGRES_URL to a disposable PostgreSQL '
                                                   'database to test the PostgreSQL storage')

from caexpo_assistant import start_in_thread  # noqa: E402
from caexpo_assistant.auth import new_token  # noqa: E402

DAY = '2025-09-20'
TOKENS = {f'r{i}': new_token() for i in range(20)}   # both servers of the fleet know the same robots


def robot(name: str) -> dict:
    return {'Authorization': f'Bearer {TOKENS[name]}'}


@pytest.fixture(scope='module')
def fleet(tmp_path_factory):
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for table in ('catalog', 'sessions', 'meetings', 'staff_requests', 'idempotency'):
            conn.execute(f'DROP TABLE IF EXISTS {table}')
    tokens_file = tmp_path_factory.mktemp('fleet') / 'tokens.yaml'
    tokens_file.touch(mode=0o600)
    tokens_file.write_text('robots:\n' + ''.join(f'  {name}: {token}\n' for name, token in TOKENS.items()))
    first = start_in_thread(db_url=PG_URL, today=DAY, tokens_file=tokens_file)
    second = start_in_thread(db_url=PG_URL, today=DAY, tokens_file=tokens_file)
    yield first, second
    first.stop()
    second.stop()


def test_fleet_shares_one_catalog_and_sessions(fleet):
    first, second = fleet
    assert httpx.get(f'{first.url}/v1/health', headers=robot('r1')).json()['storage'] == 'postgresql'
    session = httpx.post(f'{first.url}/v1/sessions', json={'robot_id': 'r1', 'entrance': 'entrance_a',
                                                           'language': 'zh'}, headers=robot('r1')).json()['session_id']
    # the visitor's next turn lands on the other server of the fleet
    reply = httpx.post(f'{second.url}/v1/sessions/{session}/turns', headers=robot('r1'),
                       json={'text': '我想预约猫山王榴莲，10:00', 'language': 'zh', 'visitor': {'name': '王伟'}}).json()
    assert reply['intent'] == 'meeting_booked' and 'A3-008' in reply['reply']
    cancel = httpx.post(f'{first.url}/v1/sessions/{session}/turns', json={'text': '取消预约', 'language': 'zh'},
                        headers=robot('r1')).json()
    assert cancel['intent'] == 'meeting_cancelled'


def test_concurrent_bookings_across_two_servers_exactly_one_wins(fleet):
    barrier = threading.Barrier(20)
    statuses = []

    def book(i):
        url = fleet[i % 2].url
        with httpx.Client(base_url=url, timeout=10, headers=robot(f'r{i}')) as client:   # twenty robots
            barrier.wait()
            response = client.post('/v1/meetings', json={
                'exhibitor_id': 'bolaven-coffee', 'day': DAY, 'start': '11:00', 'visitor_name': f'Buyer {i}',
                'language': 'lo'}, headers={'Idempotency-Key': f'pg-{i}'})
            statuses.append((response.status_code, response.json()))
    threads = [threading.Thread(target=book, args=(i,)) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(s for s, _ in statuses) == [201] + [409] * 19
    assert all(body['error']['code'] == 'slot_taken' for s, body in statuses if s == 409)


def test_same_idempotency_key_on_both_servers_books_once(fleet):
    barrier = threading.Barrier(6)
    ids = []

    def book(i):
        with httpx.Client(base_url=fleet[i % 2].url, timeout=10, headers=robot('r1')) as client:
            barrier.wait()
            response = client.post('/v1/meetings', json={
                'exhibitor_id': 'shan-tea', 'day': DAY, 'start': '14:00', 'visitor_name': 'Aung Aung',
                'language': 'my'}, headers={'Idempotency-Key': 'pg-same'})
            ids.append((response.status_code, response.json().get('id')))
    threads = [threading.Thread(target=book, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1 and ids[0][0] == 201, ids
