"""The node base class's logic (counters, drops, the typed decode path, diagnostics values), without rclpy."""
import json

from caexpo_robot.health import MAX_PROBLEM_CHARS, NodeHealth
from caexpo_robot.messages import SpeakRequest


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_a_good_payload_is_decoded_and_a_bad_one_is_a_counted_drop():
    health = NodeHealth()
    logged = []
    ok = health.receive(SpeakRequest, json.dumps({'text': 'hello', 'language': 'en'}), logged.append)
    assert ok.text == 'hello' and not logged
    assert health.receive(SpeakRequest, '{"text": 1}', logged.append) is None
    assert health.counters['dropped_SpeakRequest'] == 1
    assert 'SpeakRequest' in health.last_problem and len(logged) == 1


def test_drops_are_logged_once_per_kind_then_throttled_on_the_clock():
    clock = FakeClock()
    health = NodeHealth(clock=clock, log_every_s=5.0)
    assert health.drop('image', 'too big') is True
    assert health.drop('image', 'too big') is False
    assert health.drop('audio', 'bad label') is True     # another kind is logged at once
    clock.t = 5.1
    assert health.drop('image', 'too big') is True
    assert health.counters['dropped_image'] == 3


def test_the_last_problem_is_bounded_so_diagnostics_never_echo_a_flood():
    health = NodeHealth()
    health.receive(SpeakRequest, '{"text": "' + 'x' * 200_000 + '", "language": 5}')
    assert len(health.last_problem) <= MAX_PROBLEM_CHARS
    values = health.values({'queued': 3})
    assert values['queued'] == '3' and values['dropped_SpeakRequest'] == '1'
    assert len(values['last_problem']) <= MAX_PROBLEM_CHARS


def test_values_are_strings_sorted_with_counters_after_the_nodes_own():
    health = NodeHealth()
    health.count('frames', 2)
    assert health.values({'speaking': False}) == {'frames': '2', 'speaking': 'False'}
