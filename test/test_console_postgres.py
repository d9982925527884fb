"""The console on PostgreSQL (the disposable cluster of scripts/with-test-postgres.sh): users, sessions, the
append-only audit log (the trigger refuses UPDATE, DELETE and TRUNCATE), alerts, masked transcripts and
their retention, aggregates; two consoles on one database see the same sessions and audit log."""
import os

import httpx
import pytest

from console_harness import PASSWORD, Clock, RecordingSender, Robot, login

psycopg = pytest.importorskip('psycopg', reason='psycopg 3 not installed (pip install "psycopg[binary]==3.3.9")')
PG_URL = os.environ.get('CAEXPO_TEST_POSTGRES_URL')
pytestmark = pytest.mark.skipif(not PG_URL, reason='set CAEXPO_TEST_POSTGRES_URL to a disposable PostgreSQL '
                                                   'database (scripts/with-test-postgres.sh does)')

from caexpo_console.storage import TABLES, StorageError  # noqa: E402

from caexpo_console import start_in_thread  # noqa: E402


@pytest.fixture(scope='module')
def pair():
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for table in TABLES:
            conn.execute(f'DROP TABLE IF EXISTS {table} CASCADE')
    clock, sender = Clock(), RecordingSender()
    robots = {'greeter-a': {'entrance': 'north'}}
    first = start_in_thread(sender, db=PG_URL, clock=clock, tick_s=None, robots=robots)
    second = start_in_thread(sender, db=PG_URL, clock=clock, tick_s=None, robots=robots)
    first.auth.add_user('olga', 'operator', PASSWORD)
    yield first, second, clock, sender
    first.stop()
    second.stop()


def test_session_from_one_console_valid_on_the_other_and_command_audited(pair):
    first, second, _, sender = pair
    assert httpx.get(first.url + '/api/health').json()['storage'] == 'postgresql'
    client, answer = login(first.url, 'olga')
    other = httpx.Client(base_url=second.url, cookies=client.cookies)
    response = other.post('/api/robots/greeter-a/commands', json={'kind': 'say', 'text': 'Selamat datang'},
                          headers={'X-CSRF-Token': answer['csrf']})
    assert response.status_code == 202
    assert sender.sent[-1][1] == 'say' and sender.sent[-1][2]['operator'] == 'olga'
    actions = [(e['action'], e['result']) for e in first.storage.audit_log(actor='olga')]
    assert actions[:2] == [('say', 'sent'), ('login', 'ok')]


def test_audit_trigger_refuses_update_delete_truncate(pair):
    first, *_ = pair
    count = len(first.storage.audit_log(limit=1000))
    for statement in ("UPDATE console_audit SET result = 'ok'", 'DELETE FROM console_audit',
                      'TRUNCATE console_audit'):
        with pytest.raises(StorageError, match='append-only'):
            with first.storage.transaction() as tx:
                tx.execute(statement)
    assert len(first.storage.audit_log(limit=1000)) == count


def test_transcripts_masked_retention_alerts_aggregates(pair):
    first, _, clock, _ = pair
    robot = Robot(first.hub, clock, 'greeter-a')
    robot.say('Nama saya Siti, nombor saya 012-345 6789', language='ms', conversation='pg1')
    assert [t['text'] for t in first.storage.transcripts('greeter-a', 'pg1')] == \
        ['Nama saya [name], nombor saya [phone]']
    robot.event('alert', {'alert_id': 'pg-a1', 'type': 'visitor_waiting'})
    robot.event('counters', {'window_s': 60.0, 'seen': 4, 'engaged': 2, 'served': 1, 'languages': {'ms': 1}})
    robot.event('counters', {'window_s': 60.0, 'seen': 1, 'engaged': 1, 'served': 1, 'languages': {'ms': 1}})
    rows = first.storage.aggregates()
    assert [(r['seen'], r['engaged'], r['served'], r['languages']) for r in rows] == [(5, 3, 2, {'ms': 2})]
    assert first.storage.alert('greeter-a', 'pg-a1')['state'] == 'open'
    clock.advance(25 * 3600)
    assert first.hub.purge(force=True) == 1
    assert first.storage.transcripts('greeter-a', 'pg1') == []
    assert first.storage.aggregates()[0]['seen'] == 5          # aggregates are kept
