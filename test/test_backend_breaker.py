"""The assistant client's circuit breaker on an injected clock: no network, no rclpy, no sleeping."""
import sys
import threading

import pytest

from caexpo_robot.backend.client import CircuitBreaker


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now


def breaker(failures=3, reset_s=20.0):
    clock = FakeClock()
    return CircuitBreaker(failures, reset_s, clock), clock


def test_stays_closed_below_the_threshold_and_a_success_resets_the_count():
    b, _ = breaker(failures=3)
    for _ in range(2):
        assert b.allow()
        b.record_failure()
    assert b.state == 'closed' and b.consecutive_failures == 2
    assert b.allow()
    b.record_success()
    assert b.consecutive_failures == 0
    for _ in range(2):  # two more failures: still below three consecutive ones
        b.record_failure()
    assert b.state == 'closed' and b.allow()


def test_opens_after_n_consecutive_failures_and_refuses_until_reset_s():
    b, clock = breaker(failures=3, reset_s=20.0)
    for _ in range(3):
        assert b.allow()
        b.record_failure()
    assert b.state == 'open' and b.opened_at == 1000.0
    assert not b.allow()
    clock.now += 19.999
    assert not b.allow() and b.state == 'open'


def test_after_reset_s_exactly_one_trial_is_let_through():
    b, clock = breaker(failures=1, reset_s=5.0)
    b.record_failure()
    clock.now += 5.0
    assert b.allow() and b.state == 'half_open'
    assert not b.allow() and not b.allow(), 'a second turn while the trial is in flight must be refused'


def test_a_successful_trial_closes_the_breaker():
    b, clock = breaker(failures=2, reset_s=5.0)
    b.record_failure()
    b.record_failure()
    clock.now += 6
    assert b.allow()
    b.record_success()
    assert b.state == 'closed' and b.consecutive_failures == 0
    assert b.allow() and b.allow()


def test_a_failed_trial_reopens_at_once_and_waits_reset_s_again():
    b, clock = breaker(failures=3, reset_s=5.0)
    for _ in range(3):
        b.record_failure()
    clock.now += 5
    assert b.allow()
    b.record_failure()  # one failure in half-open is enough, whatever the threshold
    assert b.state == 'open' and b.opened_at == clock.now
    clock.now += 4.9
    assert not b.allow()
    clock.now += 0.1
    assert b.allow() and b.state == 'half_open'


def test_an_abandoned_trial_lets_the_next_turn_try():
    b, clock = breaker(failures=1, reset_s=1.0)
    b.record_failure()
    clock.now += 1
    assert b.allow()
    assert not b.allow()
    b.abandon()  # the visitor walked away before the trial learned anything
    assert b.state == 'half_open' and b.allow()


def test_concurrent_callers_get_exactly_one_trial():
    b, clock = breaker(failures=1, reset_s=1.0)
    b.record_failure()
    clock.now += 1
    start = threading.Barrier(16)
    granted = []

    def caller():
        start.wait()
        granted.append(b.allow())
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads as much as possible
    try:
        threads = [threading.Thread(target=caller) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old)
    assert granted.count(True) == 1 and len(granted) == 16


def test_concurrent_failures_open_once_with_every_failure_counted():
    b, _ = breaker(failures=50, reset_s=1.0)
    start = threading.Barrier(8)

    def fail_many():
        start.wait()
        for _ in range(100):
            b.record_failure()
    threads = [threading.Thread(target=fail_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert b.consecutive_failures == 800 and b.state == 'open'


@pytest.mark.parametrize('failures,reset_s', [(0, 1.0), (3, 0.0), (3, -1.0)])
def test_nonsense_settings_are_refused(failures, reset_s):
    with pytest.raises(ValueError):
        CircuitBreaker(failures, reset_s, FakeClock())


def test_the_clients_breaker_runs_on_the_clients_clock():
    """AssistantClient passes its injected clock to its breaker (the client's tests use real time)."""
    from caexpo_robot.backend import AssistantClient
    clock = FakeClock(50.0)
    client = AssistantClient('http://127.0.0.1:9', 'r1', 'entrance_a', filler_text=str, canned_reply=str,
                             breaker_failures=1, breaker_reset_s=10.0, clock=clock)
    try:
        client._breaker.record_failure()
        assert client.status()['breaker'] == 'open' and client._breaker.opened_at == 50.0
        clock.now = 60.0
        assert client._breaker.allow() and client.status()['breaker'] == 'half_open'
    finally:
        client.close()
