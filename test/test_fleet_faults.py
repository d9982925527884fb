"""Fleet faults end to end, on real Zenoh over loopback, the robot's real telepresence (and interaction) nodes
in an rclpy graph and the real console (uvicorn, storage, FleetHub fed by a ConsoleLink through EventPump):
- the console (or the hall's router) down: the robot serves visitors, the telepresence node retries opening
  with a WARN, and an alert raised meanwhile reaches the console when it returns; a console that goes away
  later is noticed (Zenoh's matching status) and what happened meanwhile is delivered on its return;
- a robot that disconnects is shown offline within the console's online_s (5 s) of its last heartbeat;
- malformed or unauthorised commands are refused and counted on the robot, which keeps obeying valid ones.
"""
from __future__ import annotations

import json
import os
import queue
import socket
import time
import uuid
from contextlib import contextmanager
from functools import partial

import zenoh
from caexpo_console.server import EventPump
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter

from caexpo_console import start_in_thread
from caexpo_robot.fleet import protocol as fp
from caexpo_robot.fleet.link import ConsoleLink, zenoh_config
from caexpo_robot.messages import (
    FacesFrame,
    InteractionEvent,
    OperatorControl,
    SpeakRequest,
    SpeechEvent,
    TrackedFace,
    TypedQuestion,
)
from caexpo_robot.nodes.interaction_node import InteractionNode
from caexpo_robot.nodes.telepresence_node import TelepresenceNode
from ros_harness import ros_graph

ROBOT = 'greeter-a'
KEY = os.urandom(32)
KEY_ENV = 'CAEXPO_FLEET_KEY_FAULTS'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def endpoint(port: int) -> str:
    return f'tcp/127.0.0.1:{port}'


def telepresence(monkeypatch, **params):
    monkeypatch.setenv(KEY_ENV, KEY.hex())
    overrides = [Parameter('robot_id', value=ROBOT), Parameter('key_env', value=KEY_ENV),
                 *(Parameter(name, value=value) for name, value in params.items())]
    return partial(TelepresenceNode, parameter_overrides=overrides)


def my_status(diagnostics: list, suffix: str = '/telepresence'):
    """The newest status of the node named `suffix` on /diagnostics, or None."""
    found = [s for d in diagnostics for s in d.status if s.name.endswith(suffix)]
    return found[-1] if found else None


def values_of(status) -> dict[str, str]:
    return {v.key: v.value for v in status.values} if status is not None else {}


@contextmanager
def console_server():
    """The real console with no link yet (a console whose link is down still serves its operators)."""
    console = start_in_thread(None, robots={ROBOT: {'entrance': 'north'}})
    pump = EventPump(console.hub, 1000)
    try:
        yield console, pump
    finally:
        pump.stop()
        console.stop()


def console_link(pump, config) -> ConsoleLink:
    link = ConsoleLink({ROBOT: KEY}, config)
    link.on_event(pump.put)
    return link


def client_config(port: int) -> zenoh.Config:
    return zenoh_config([], [endpoint(port)], mode='client')


def router(port: int):
    config = zenoh_config([endpoint(port)], [])
    config.insert_json5('mode', json.dumps('router'))
    return zenoh.open(config)


def faces(t, visitor):
    return FacesFrame(stamp=t, frame_id='camera', width=640, height=480,
                      faces=[TrackedFace(id=visitor, x=0.4, y=0.3, w=0.1, h=0.1, score=0.9, distance_m=1.5,
                                         facing=0.9, confirmed=True, engaged=True)])


def speak_everything(g, requests: list, done: set) -> None:
    """Play the robot's speech (as the tts node reports it), so the dialogue moves on."""
    for request in list(requests):
        if request.id not in done:
            done.add(request.id)
            for kind in ('utterance_started', 'utterance_finished'):
                g.send(SpeechEvent(t=time.time(), type=kind, id=request.id, language=request.language))


def greet_and_ask(g, face_id: str, requests: list, events: list, spoken: set) -> None:
    """A visitor steps up (face `face_id`), is greeted (the speech played) and types a question once listened to."""
    g.send(faces(time.time(), face_id))
    assert g.spin_until(lambda: requests, 10.0), 'not greeted'
    speak_everything(g, requests, spoken)
    assert g.spin_until(lambda: any(e.type == 'listening_started' for e in events), 10.0)
    g.send(TypedQuestion(text='Where are the toilets?', language='en'))


def test_console_down_the_robot_serves_and_what_happened_meanwhile_reaches_the_console(monkeypatch):
    """Deployment shape: the robot is a Zenoh client of the hall's router. Router and console are down at first
    (zenoh.open fails: retried with a WARN), then up, then the console alone goes away and comes back."""
    port = free_port()
    robot = telepresence(monkeypatch, zenoh_mode='client', zenoh_connect=endpoint(port), link_retry_s=0.2,
                         link_retry_max_s=1.0, console_presence=True)
    interaction = partial(InteractionNode, parameter_overrides=[Parameter('opener_languages', value=['en'])])
    with console_server() as (console, pump), ros_graph(interaction, robot) as g:
        node = g.nodes[1]
        requests = g.listen_messages(SpeakRequest)
        events = g.listen_messages(InteractionEvent)
        diagnostics = g.listen('/diagnostics', DiagnosticArray, 50)
        for model in (FacesFrame, SpeechEvent, TypedQuestion):
            g.wait_for_subscribers(g.typed_publisher(model))
        g.wait_until_heard(g.nodes[0].advertise(SpeakRequest), g.nodes[0].advertise(InteractionEvent))

        # 1. Nothing to connect to: the link is retried (a WARN says so) and visitors are served regardless.
        assert g.spin_until(lambda: node.link_attempts >= 3, 10.0), 'the link was not retried'
        assert g.spin_until(lambda: my_status(diagnostics) and 'not open' in my_status(diagnostics).message, 5.0)
        assert my_status(diagnostics).level == b'\x01'      # WARN
        spoken: set = set()
        greet_and_ask(g, 'f0001', requests, events, spoken)
        assert g.spin_until(lambda: any(r.tag.purpose == 'answer' for r in requests), 10.0), 'unanswered'
        speak_everything(g, requests, spoken)
        # No backend here: the canned answer promises a staff member, and the operators must hear of it.
        assert g.spin_until(lambda: any(e.type == 'staff_requested' for e in events), 10.0)
        assert g.spin_until(lambda: any(e.kind == 'alert' for e in node.core.queue), 5.0), 'the alert was not kept'
        assert node.link is None

        # 2. The router and the console come back: the link opens, the alert raised meanwhile is delivered.
        hall = router(port)
        link = console_link(pump, client_config(port))
        try:
            def alerts():
                return console.storage.alerts(robot=ROBOT)
            assert g.spin_until(lambda: alerts(), 15.0), 'the alert never reached the console'
            assert [(a['type'], a['state']) for a in alerts()] == [('staff_requested', 'open')]
            assert g.spin_until(lambda: console.hub.robot(ROBOT)['online'], 5.0)
            assert g.spin_until(lambda: my_status(diagnostics).level == b'\x00', 5.0)    # OK once linked
            assert not node.core.queue

            # 3. The console alone goes away (the router stays): Zenoh's matching status tells the robot, which
            # keeps serving and queues the visitor's next turn; back, the console gets it in its transcript.
            link.close()
            assert g.spin_until(lambda: not node.core.link_up, 5.0), 'the robot did not notice the console left'
            assert g.spin_until(lambda: 'unreachable' in my_status(diagnostics).message, 5.0)
            answers = sum(r.tag.purpose == 'answer' for r in requests)
            g.send(TypedQuestion(text='And the restaurant, please?', language='en'))
            assert g.spin_until(lambda: sum(r.tag.purpose == 'answer' for r in requests) > answers, 10.0)
            speak_everything(g, requests, spoken)
            assert g.spin_until(lambda: any(e.kind == 'utterance' for e in node.core.queue), 5.0)
            assert not any('restaurant' in line.get('text', '') for line in console.hub.transcript(ROBOT))
            link = console_link(pump, client_config(port))
            assert g.spin_until(lambda: any('restaurant' in line.get('text', '')
                                            for line in console.hub.transcript(ROBOT)), 15.0), \
                'what the visitor typed while the console was away never reached it'
            assert node.link.drop_counts() == {} and link.drop_counts() == {}
        finally:
            link.close()
            hall.close()


def test_with_the_default_settings_an_alert_raised_while_the_console_is_away_reaches_it(monkeypatch):
    """console_presence off (the default): the link counts as up while open, Zenoh drops what no console
    subscribes to, and the robot sends an open, unacknowledged alert again every alert_repeat_s: the console
    that comes back gets it."""
    port = free_port()
    hall = router(port)
    robot = telepresence(monkeypatch, zenoh_mode='client', zenoh_connect=endpoint(port), alert_repeat_s=1.0)
    interaction = partial(InteractionNode, parameter_overrides=[Parameter('opener_languages', value=['en'])])
    try:
        with console_server() as (console, pump), ros_graph(interaction, robot) as g:
            node = g.nodes[1]
            requests = g.listen_messages(SpeakRequest)
            events = g.listen_messages(InteractionEvent)
            for model in (FacesFrame, SpeechEvent, TypedQuestion):
                g.wait_for_subscribers(g.typed_publisher(model))
            g.wait_until_heard(g.nodes[0].advertise(SpeakRequest), g.nodes[0].advertise(InteractionEvent))
            assert g.spin_until(lambda: node.link is not None and node.core.link_up, 10.0), 'no link'
            spoken: set = set()
            greet_and_ask(g, 'f0002', requests, events, spoken)
            assert g.spin_until(lambda: any(e.type == 'staff_requested' for e in events), 10.0)
            assert g.spin_until(lambda: node.core.alerts, 5.0), 'no alert raised on the robot'
            g.spin_until(lambda: False, 0.5)   # published into the void: no console subscribes yet
            assert console.storage.alerts(robot=ROBOT) == [] and node.core.alerts_repeated == 0
            link = console_link(pump, client_config(port))
            try:
                assert g.spin_until(lambda: console.storage.alerts(robot=ROBOT), 10.0), \
                    'the alert never reached the console that came back'
                assert [(a['type'], a['state']) for a in console.storage.alerts(robot=ROBOT)] == \
                    [('staff_requested', 'open')]
                assert node.core.alerts_repeated >= 1
            finally:
                link.close()
    finally:
        hall.close()


def test_a_disconnected_robot_is_shown_offline_within_5_s(monkeypatch):
    port = free_port()
    with console_server() as (console, pump):
        link = console_link(pump, zenoh_config([endpoint(port)], []))
        offline_at: list[float] = []
        heartbeats: list[float] = []
        console.hub.subscribe(lambda event: offline_at.append(time.monotonic())
                              if event.get('type') == 'robot' and not event['robot']['online'] else None)
        link.on_event(lambda env: heartbeats.append(time.monotonic()) if env.kind == 'heartbeat' else None)
        try:
            with ros_graph(telepresence(monkeypatch, zenoh_connect=endpoint(port))) as g:
                assert g.spin_until(lambda: console.hub.robot(ROBOT)['online'], 15.0), 'never online'
                g.spin_for(2.0)           # a few heartbeats: a steady state, not the first moments
                assert not offline_at
            disconnected = time.monotonic()           # the node's link closed with the graph
            deadline = disconnected + 10.0
            while not offline_at and time.monotonic() < deadline:
                time.sleep(0.05)
            assert offline_at, 'the console never showed the robot offline'
            after_disconnect, after_heartbeat = offline_at[0] - disconnected, offline_at[0] - heartbeats[-1]
            print(f'offline shown {after_disconnect:.2f} s after the robot disconnected, '
                  f'{after_heartbeat:.2f} s after its last heartbeat')
            # online = a heartbeat within 5 s (heartbeats each second), checked every 0.5 s by the console's ticker
            assert 5.0 <= after_heartbeat <= 5.0 + 0.5 + 0.3
            assert after_disconnect <= 5.0 + 0.5 + 0.3
            assert console.hub.robot(ROBOT)['online'] is False
        finally:
            link.close()


def test_malformed_and_unauthorised_commands_are_refused_and_counted_and_the_robot_obeys_the_next(monkeypatch):
    console_port, robot_port = free_port(), free_port()
    with ConsoleLink({ROBOT: KEY}, zenoh_config([endpoint(console_port)], [])) as console, \
            ros_graph(telepresence(monkeypatch, zenoh_connect=endpoint(console_port),
                                   zenoh_listen=endpoint(robot_port))) as g:
        node = g.nodes[0]
        controls = g.listen_messages(OperatorControl)
        diagnostics = g.listen('/diagnostics', DiagnosticArray, 50)
        events: queue.SimpleQueue = queue.SimpleQueue()
        console.on_event(events.put)
        assert g.spin_until(lambda: not events.empty(), 15.0), 'no heartbeat'
        # Anyone on the network: an own session reaching the robot, recording the console's commands.
        intruder = zenoh.open(zenoh_config([], [endpoint(console_port), endpoint(robot_port)]))
        overheard: queue.SimpleQueue = queue.SimpleQueue()
        wiretap = intruder.declare_subscriber(fp.commands_key(ROBOT), lambda s: overheard.put(s.payload.to_bytes()))
        try:
            def command(kind='stop_speech', **body):
                return {'command_id': uuid.uuid4().hex, 'operator': 'lan', **body}

            def obeyed(body):
                return any(c.command_id == body['command_id'] for c in controls)
            first = command('pause_greeting')
            assert g.spin_until(lambda: (console.send(ROBOT, 'pause_greeting', first), obeyed(first))[1], 10.0)
            assert g.spin_until(lambda: not overheard.empty(), 5.0)
            recorded = overheard.get()

            def signed(key: bytes, **fields) -> bytes:
                wire = {'v': 1, 'robot_id': ROBOT, 'sender': 'console', 'boot': 'feedfacefeedface',
                        'seq': int(time.time() * 1000), 'sent_at': time.time(), 'kind': 'stop_speech',
                        'body': command(), **fields}
                return fp.canonical_json({**wire, 'sig': fp._mac(key, wire)})
            attacks = {
                'malformed': b'\x00\xff{"garbage": ',
                'bad_signature': signed(os.urandom(32)),                               # the wrong key
                'unknown_kind': signed(KEY, kind='shutdown', body=command()),           # outside the allow-list
                'replay': recorded,                                                    # a genuine command again
                'wrong_sender': signed(KEY, sender='robot'),                           # the robot's own voice
            }
            for reason, raw in attacks.items():
                assert g.spin_until(lambda r=reason, b=raw: (intruder.put(fp.commands_key(ROBOT), b),
                                                             node.link.drop_counts().get(r, 0) >= 1)[1], 10.0), reason
            assert set(node.link.drop_counts()) == set(attacks)
            assert [c.command_id for c in controls] == [first['command_id']]        # none of them did anything
            assert g.spin_until(lambda: all(values_of(my_status(diagnostics)).get(f'link_drop_{r}', '0') != '0'
                                            for r in attacks), 5.0), 'the refusals are not in diagnostics'

            after = command('take_over')
            assert g.spin_until(lambda: (console.send(ROBOT, 'take_over', after), obeyed(after))[1], 10.0)
            assert [c.command for c in controls if c.command_id == after['command_id']] == ['take_over']
            beats = events.qsize()
            assert g.spin_until(lambda: events.qsize() > beats + 1, 5.0)            # still reporting
            assert console.drop_counts() == {}
        finally:
            wiretap.undeclare()
            intruder.close()
