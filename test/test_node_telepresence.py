"""The telepresence node in a real rclpy graph with a real Zenoh ConsoleLink on loopback: heartbeats reach
the console, a signed take_over becomes OperatorControl on greeter/operator and its ack follows the
interaction node's answer; without a link configured the node idles with a WARN."""
from __future__ import annotations

import os
import queue
import socket
import uuid
from functools import partial

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter

from caexpo_robot.fleet.link import ConsoleLink, zenoh_config
from caexpo_robot.fleet.protocol import TakeOver
from caexpo_robot.messages import InteractionEvent, OperatorControl
from caexpo_robot.nodes.telepresence_node import TelepresenceNode
from ros_harness import ros_graph

KEY = os.urandom(32)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_console_sees_heartbeats_and_a_take_over_is_forwarded_and_acked(monkeypatch):
    monkeypatch.setenv('CAEXPO_FLEET_KEY_TEST', KEY.hex())
    port = free_port()
    events: queue.SimpleQueue = queue.SimpleQueue()
    with ConsoleLink({'greeter-a': KEY}, zenoh_config([f'tcp/127.0.0.1:{port}'], [])) as console:
        console.on_event(events.put)
        params = [Parameter('robot_id', value='greeter-a'), Parameter('key_env', value='CAEXPO_FLEET_KEY_TEST'),
                  Parameter('zenoh_connect', value=f'tcp/127.0.0.1:{port}')]
        with ros_graph(partial(TelepresenceNode, parameter_overrides=params)) as graph:
            controls = graph.listen_messages(OperatorControl)
            seen = []

            def got(kind):
                while not events.empty():
                    seen.append(events.get())
                return [e for e in seen if e.kind == kind]
            assert graph.spin_until(lambda: got('heartbeat'), 15.0), 'no heartbeat reached the console'
            assert got('heartbeat')[0].body.state.takeover_owner is None
            command_id = uuid.uuid4().hex
            console.send('greeter-a', 'take_over', TakeOver(command_id=command_id, operator='ann'))
            assert graph.spin_until(lambda: controls, 10.0), 'no OperatorControl'
            assert (controls[0].command, controls[0].command_id, controls[0].operator) == ('take_over', command_id,
                                                                                        'ann')
            graph.wait_for_subscribers(graph.typed_publisher(InteractionEvent))
            graph.send(InteractionEvent(t=1.0, type='operator_took_over', utterance=command_id, detail='ann'))
            assert graph.spin_until(lambda: got('ack'), 10.0), 'no ack'
            assert [(a.body.command_id, a.body.ok) for a in got('ack')] == [(command_id, True)]
            assert graph.spin_until(lambda: any(h.body.state.takeover_owner == 'ann' for h in got('heartbeat')), 5.0)


def test_without_a_link_the_node_idles_with_a_warning():
    with ros_graph(TelepresenceNode) as graph:
        diagnostics = graph.listen('/diagnostics', DiagnosticArray, 10)
        mine = lambda: [s for d in diagnostics for s in d.status if s.name.endswith('/telepresence')]  # noqa: E731
        assert graph.spin_until(mine, 5.0)
        status = mine()[0]
        assert status.level == b'\x01'    # WARN
        assert 'no robot_id' in status.message
