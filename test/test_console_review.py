"""Review fixes of the console: streams end with their session, open views confirmed only while live, masked
alert details and say texts, repeated alerts, connections of dead threads, the login limiter's memory."""
import threading
import time

import pytest
from caexpo_console.auth import LoginLimiter, LoginLimits
from caexpo_console.storage import SqliteStorage

from caexpo_console import start_in_thread
from console_harness import PASSWORD, Clock, RecordingSender, Robot, login

ROBOTS = {'greeter-a': {'entrance': 'north'}}


@pytest.fixture()
def console():
    console = start_in_thread(RecordingSender(), clock=Clock(), tick_s=None, robots=ROBOTS,
                              stream_session_check_s=0.2)
    for name, role in (('olga', 'operator'), ('ada', 'admin')):
        console.auth.add_user(name, role, PASSWORD)
    yield console
    console.stop()


class Stream:
    """A browser tab's /api/stream in a thread: `opened` once the snapshot came, `ended` when the server ended it."""

    def __init__(self, client):
        self.opened, self.ended = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._read, args=(client,), daemon=True)
        self.thread.start()
        assert self.opened.wait(5)

    def _read(self, client):
        try:
            with client.stream('GET', '/api/stream', timeout=30) as response:
                for line in response.iter_lines():
                    if line == 'event: snapshot':
                        self.opened.set()
        except Exception:   # noqa: BLE001 - a read error also ends it; the test looks at `ended` only
            pass
        self.ended.set()


def csrf(answer):
    return {'X-CSRF-Token': answer['csrf']}


def test_logout_and_disabling_end_the_users_streams_at_once(console):
    olga, answer = login(console.url, 'olga')
    tab = Stream(olga)
    assert olga.post('/api/logout', headers=csrf(answer)).status_code == 204
    assert tab.ended.wait(5)               # not after the 15 s ping
    olga, _ = login(console.url, 'olga')
    tab = Stream(olga)
    ada, ada_answer = login(console.url, 'ada')
    ada_tab = Stream(ada)
    assert ada.put('/api/users/olga', json={'disabled': True}, headers=csrf(ada_answer)).status_code == 200
    assert tab.ended.wait(5)
    assert not ada_tab.ended.is_set()      # only that user's
    ada.post('/api/logout', headers=csrf(ada_answer))
    assert ada_tab.ended.wait(5)


def test_stream_rechecks_its_session_whatever_the_traffic(console):
    """Disabled by the CLI (no route to end the stream): the re-check on a timer ends it although events
    keep coming (a re-check only after a quiet stream_ping_s never came)."""
    olga, _ = login(console.url, 'olga')
    tab = Stream(olga)
    robot = Robot(console.hub, Clock(), 'greeter-a')
    console.auth.set_user('olga', disabled=True)
    deadline = time.monotonic() + 5
    while not tab.ended.is_set() and time.monotonic() < deadline:
        robot.heartbeat(visitor_language=('vi', 'th')[int(time.monotonic() * 20) % 2])   # an event each time
        tab.ended.wait(0.05)
    assert tab.ended.is_set()


def test_open_views_confirmed_only_with_an_open_stream_and_a_live_session(console):
    olga, answer = login(console.url, 'olga')
    watch = olga.post('/api/robots/greeter-a/commands', json={'kind': 'watch', 'watching': True},
                      headers=csrf(answer))
    assert watch.status_code == 202
    assert console.app.state.refresh_watches() == 0      # no stream open: not confirmed (and forgotten)
    olga.post('/api/robots/greeter-a/commands', json={'kind': 'watch', 'watching': True}, headers=csrf(answer))
    tab = Stream(olga)
    assert console.app.state.refresh_watches() == 1
    console.storage.delete_session(console.auth.session(olga.cookies['caexpo_console_session']).token_hash)
    assert console.app.state.refresh_watches() == 0      # the session is gone: no longer confirmed
    tab.ended.wait(5)


def test_alert_detail_and_say_text_stored_masked(console):
    robot = Robot(console.hub, Clock(), 'greeter-a')
    robot.event('alert', {'alert_id': 'q1', 'type': 'staff_requested', 'language': 'en',
                          'detail': 'My name is Anna Lee, call +60 12-345 6789 about hall 5'})
    assert console.storage.alert('greeter-a', 'q1')['detail'] == 'My name is [name], call [phone] about hall 5'
    olga, answer = login(console.url, 'olga')
    said = olga.post('/api/robots/greeter-a/commands', headers=csrf(answer),
                     json={'kind': 'say', 'text': 'Anna, my name is Olga Tan; mail olga@example.com', 'language': 'en'})
    assert said.status_code == 202
    entry = console.storage.audit_log(actor='olga', action='say')[0]
    assert entry['detail']['text'] == 'Anna, my name is [name]; mail [email]'


def test_repeated_alert_inserts_nothing_and_says_so(tmp_path):
    storage = SqliteStorage(tmp_path / 'c.sqlite3')
    try:
        assert storage.raise_alert('r', 'a1', 'staff_requested', None, 'vi', 'x', 1.0) is True
        assert storage.raise_alert('r', 'a1', 'staff_requested', None, 'vi', 'changed', 2.0) is False
        assert storage.alert('r', 'a1')['detail'] == 'x'
    finally:
        storage.close()


def test_connections_of_ended_threads_are_closed(tmp_path):
    storage = SqliteStorage(tmp_path / 'c.sqlite3')
    try:
        for i in range(20):
            worker = threading.Thread(target=storage.audit, args=(float(i), 'a', 'x', None, {}, 'ok', None))
            worker.start()
            worker.join()
        assert storage.open_connections() <= 2   # this thread's and the last worker's, not 21
        assert len(storage.audit_log(limit=100)) == 20
    finally:
        storage.close()


def test_login_limiter_forgets_names_whose_failures_expired():
    clock = Clock()
    limiter = LoginLimiter(LoginLimits(window_s=300), clock)
    for i in range(500):                  # a guessing run over many names, one address
        limiter.failed('10.0.0.1', f'user{i}')
    assert limiter.keys() == 501
    clock.advance(301)
    limiter.failed('10.0.0.2', 'someone')
    assert limiter.keys() == 2            # the expired ones swept, not kept for ever
    assert limiter.wait_s('10.0.0.2', 'someone') is None
