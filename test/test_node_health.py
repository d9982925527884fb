"""The node base class's logic (counters, drops, the typed decode path, callback containment,
diagnostics values, parameter bounds), without a ROS graph."""
import inspect
import json

import pytest

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


def test_an_exception_in_a_callback_is_contained_counted_and_logged_once_per_kind_then_throttled():
    clock = FakeClock()
    health = NodeHealth(clock=clock, log_every_s=5.0)
    logged = []

    def on_message(msg):
        if msg == 'deep':
            raise RecursionError('maximum recursion depth exceeded')
        if msg == 'zero':
            raise ZeroDivisionError('division by zero')
        return msg.upper()

    contained = health.contain('subscription', on_message, logged.append, where='greeter/say')
    assert contained('ok') == 'OK' and not logged
    assert contained('deep') is None and contained('deep') is None
    assert health.counters['callback_errors_subscription'] == 2
    assert len(logged) == 1 and 'RecursionError' in logged[0] and 'Traceback' in logged[0]
    assert 'greeter/say' in health.last_problem and len(health.last_problem) <= MAX_PROBLEM_CHARS
    assert contained('zero') is None                      # another exception type: logged at once
    assert len(logged) == 2 and 'ZeroDivisionError' in logged[1]
    clock.t = 6.0
    contained('deep')
    assert len(logged) == 3 and 'again' in logged[2] and 'Traceback' not in logged[2]
    assert health.counters['callback_errors_subscription'] == 4
    assert contained('still fine') == 'STILL FINE'


def test_a_contained_callback_keeps_its_signature_for_rclpy_and_a_service_still_answers():
    from rclpy.timer import TimerInfo
    health = NodeHealth()

    def with_info(msg, info):
        pass

    def timed(info: TimerInfo):
        pass
    # rclpy binds one argument (message only) or two (message, MessageInfo); timers look for TimerInfo.
    with pytest.raises(TypeError):
        inspect.signature(health.contain('subscription', with_info)).bind(object())
    inspect.signature(health.contain('subscription', with_info)).bind(object(), object())
    params = inspect.signature(health.contain('timer', timed)).parameters.values()
    assert [p.annotation for p in params] == [TimerInfo]

    def broken_service(request, response):
        raise KeyError('boom')
    response = object()
    assert health.contain('service', broken_service, fallback=lambda req, resp: resp)(None, response) is response
    assert health.counters['callback_errors_service'] == 1


def test_a_stop_request_is_not_contained():
    health = NodeHealth()

    def stop():
        raise SystemExit(0)
    with pytest.raises(SystemExit):
        health.contain('timer', stop)()
    assert not health.counters


def test_parameter_bounds_name_the_parameter_and_the_rule():
    from types import SimpleNamespace

    from caexpo_robot.nodes.common import Param, ParamRule, Range, check_params
    angle = Range(gt=0, lt=180)
    assert angle(60.0) is None and angle(179.9) is None
    for bad in (0.0, 180.0, -5, float('nan'), float('inf'), True, 'sixty'):
        assert angle(bad), bad
    assert Range(ge=1)(1) is None and Range(ge=1)(0) == 'must be >= 1'
    assert angle.describe() == '> 0 and < 180'
    params = [Param('hfov_deg', 60.0, 'field of view', check=angle), Param('near', 1.0, 'near'),
              Param('far', 2.0, 'far')]
    rules = [ParamRule('far must be >= near', lambda p: p.far >= p.near)]
    check_params('camera', params, rules, SimpleNamespace(hfov_deg=60.0, near=1.0, far=2.0))
    with pytest.raises(SystemExit, match=r'camera: parameter hfov_deg = 0\.0 must be > 0 and < 180'):
        check_params('camera', params, rules, SimpleNamespace(hfov_deg=0.0, near=1.0, far=2.0))
    with pytest.raises(SystemExit, match='far must be >= near'):
        check_params('camera', params, rules, SimpleNamespace(hfov_deg=60.0, near=3.0, far=2.0))
    assert params[0].constraint_text() == '> 0 and < 180' and params[1].constraint_text() == ''
