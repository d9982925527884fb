"""The fleet link on real Zenoh sessions over 127.0.0.1: events and commands flow, every kind of bad
envelope is refused and counted while the link keeps working, restarts and clean exits."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
import zenoh

from caexpo_robot.fleet import protocol as fp
from caexpo_robot.fleet.link import ConsoleLink, RobotLink, zenoh_config
from loopback_http import free_port
from polling import wait_for

KEY_A = os.urandom(32)
KEY_B = os.urandom(32)
KEYS = {'greeter-a': KEY_A, 'greeter-b': KEY_B}
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def endpoint(port: int) -> str:
    return f'tcp/127.0.0.1:{port}'


def command(**extra):
    return {'command_id': uuid.uuid4().hex, 'operator': 'lan', **extra}


def heartbeat():
    return fp.Heartbeat(state=fp.RobotState(greeting_paused=False))


def resign(wire: dict, key: bytes) -> bytes:
    wire = {name: value for name, value in wire.items() if name != 'sig'}
    wire['sig'] = fp._mac(key, wire)
    return fp.canonical_json(wire)


class Fleet:
    """The console listening, robot A connected to it (and listening itself, so a third party can reach
    it), queues of what each side's callbacks got."""

    def __init__(self) -> None:
        self.console_port, self.robot_port = free_port(), free_port()
        self.console = ConsoleLink(KEYS, zenoh_config([endpoint(self.console_port)], []))
        self.events: queue.Queue[fp.Envelope] = queue.Queue()
        self.console.on_event(self.events.put)
        self.robot = self.start_robot('greeter-a', KEY_A, listen=[endpoint(self.robot_port)])
        self.commands: queue.Queue[fp.Envelope] = queue.Queue()
        self.robot.on_command(self.commands.put)
        self.link_up(self.robot, self.events)
        self.intruder = zenoh.open(zenoh_config([], [endpoint(self.console_port), endpoint(self.robot_port)]))

    def start_robot(self, robot_id, key, listen=()):
        return RobotLink(robot_id, key, zenoh_config(list(listen), [endpoint(self.console_port)]))

    def link_up(self, robot: RobotLink, events: queue.Queue) -> None:
        """Sessions connect and declare subscriptions asynchronously: send until one gets through each way."""
        def both_ways():
            robot.publish('heartbeat', heartbeat())
            self.console.send(robot.robot_id, 'watch', command(watching=True))
            return not events.empty() and (robot is not self.robot or not self.commands.empty())
        wait_for(both_ways, 'the link to come up')
        drain(events)
        if robot is self.robot:
            drain(self.commands)

    def put_raw(self, key_expr: str, raw: bytes, peer_sees) -> None:
        """Put bytes as anyone on the network could, until the receiver has seen them (sessions of a third
        party also need a moment before their puts are routed)."""
        wait_for(lambda: (self.intruder.put(key_expr, raw), peer_sees())[1], f'{key_expr} to be seen')

    def close(self) -> None:
        self.intruder.close()
        self.robot.close()
        self.console.close()


def next_of(q: queue.Queue, match: str | fp.Envelope) -> fp.Envelope:
    """The next envelope of a kind, or that envelope itself, skipping others (link-up heartbeats and
    watch commands may still be in flight)."""
    deadline = time.monotonic() + 5
    while True:
        env = q.get(timeout=max(0.01, deadline - time.monotonic()))
        if env.kind == match or env == match:
            return env


def drain(q: queue.Queue) -> list:
    items = []
    while not q.empty():
        items.append(q.get_nowait())
    return items


@pytest.fixture
def fleet():
    f = Fleet()
    yield f
    f.close()


def test_events_reach_the_console_and_commands_the_robot(fleet):
    sent = fleet.robot.publish('utterance', {'side': 'visitor', 'text': 'Apa khabar?', 'final': True,
                                             'language': 'ms', 'conversation': 'c1'})
    got = next_of(fleet.events, 'utterance')
    assert got == sent and got.robot_id == 'greeter-a' and got.body.text == 'Apa khabar?'
    say = fleet.console.send('greeter-a', 'say', command(text='Selamat datang', language='ms'))
    cmd = next_of(fleet.commands, 'say')
    assert cmd == say and isinstance(cmd.body, fp.Say) and cmd.sender == 'console'
    fleet.robot.publish('ack', {'command_id': cmd.body.command_id, 'ok': True, 'error': None})
    assert next_of(fleet.events, 'ack').body.command_id == say.body.command_id
    assert fleet.console.drop_counts() == {} and fleet.robot.drop_counts() == {}


def test_bad_events_are_refused_counted_and_the_link_keeps_working(fleet):
    console = fleet.console
    genuine = fleet.robot.publish('heartbeat', heartbeat())
    assert next_of(fleet.events, genuine) == genuine
    raw = genuine.encode()
    wire = json.loads(raw)
    events_a = fp.events_key('greeter-a')
    seen = lambda reason, n=1: (lambda: console.drop_counts().get(reason, 0) >= n)

    fleet.put_raw(events_a, raw, seen('replay'))                                   # captured and replayed
    tampered = raw.replace(b'"greeting_paused":false', b'"greeting_paused":true')
    fleet.put_raw(events_a, tampered, seen('bad_signature'))
    fleet.put_raw(events_a, resign({**wire, 'seq': 10**6}, os.urandom(32)), seen('bad_signature', 2))  # wrong key
    b_event = resign({**wire, 'robot_id': 'greeter-b', 'seq': 1}, KEY_B)        # B's own event on A's key
    fleet.put_raw(events_a, b_event, seen('wrong_robot'))
    fleet.put_raw(events_a, resign({**wire, 'seq': 10**6 + 1, 'kind': 'say'}, KEY_A), seen('unknown_kind'))
    fleet.put_raw(events_a, b'x' * (fp.MAX_ENVELOPE_BYTES + 1), seen('too_large'))
    fleet.put_raw(events_a, b'\x00\xffgarbage{', seen('malformed'))
    fleet.put_raw('caexpo/robots/greeter-z/events', resign({**wire, 'robot_id': 'greeter-z'}, KEY_A),
                  seen('unknown_robot'))
    commanded = resign({**wire, 'seq': 10**6 + 2, 'sender': 'console', 'kind': 'say',
                        'body': command(text='hi', language=None)}, KEY_A)
    fleet.put_raw(events_a, commanded, seen('wrong_sender'))                  # a command is not an event

    assert fleet.events.empty()                 # nothing refused reached the callback
    assert fleet.robot.drop_counts() == {}      # the robot saw none of it
    after = fleet.robot.publish('reply', {'text': 'Selamat datang', 'actions': ['Hall A']})
    assert next_of(fleet.events, 'reply') == after


def test_bad_commands_are_refused_counted_and_the_robot_keeps_listening(fleet):
    robot = fleet.robot
    genuine = fleet.console.send('greeter-a', 'take_over', command())
    assert next_of(fleet.commands, genuine) == genuine
    raw = genuine.encode()
    wire = json.loads(raw)
    commands_a = fp.commands_key('greeter-a')
    seen = lambda reason, n=1: (lambda: robot.drop_counts().get(reason, 0) >= n)

    fleet.put_raw(commands_a, raw, seen('replay'))
    fleet.put_raw(commands_a, raw.replace(b'"lan"', b'"eve"'), seen('bad_signature'))
    fleet.put_raw(commands_a, resign({**wire, 'seq': 10**6}, KEY_B), seen('bad_signature', 2))
    fleet.put_raw(commands_a, resign({**wire, 'robot_id': 'greeter-b'}, KEY_B), seen('unknown_robot'))
    for n, kind in enumerate(('shutdown', 'set_parameter', 'heartbeat'), start=1):   # outside the allow-list
        fleet.put_raw(commands_a, resign({**wire, 'seq': 10**6 + n, 'kind': kind}, KEY_A), seen('unknown_kind', n))
    robots_own = resign({**wire, 'seq': 10**6 + 9, 'sender': 'robot', 'kind': 'heartbeat',
                         'body': heartbeat().model_dump(mode='json')}, KEY_A)
    fleet.put_raw(commands_a, robots_own, seen('wrong_sender'))
    stale = resign({**wire, 'seq': 10**6 + 10, 'sent_at': time.time() - 3600}, KEY_A)
    fleet.put_raw(commands_a, stale, seen('clock_skew'))
    fleet.put_raw(commands_a, b'{' * 300_000, seen('too_large'))
    fleet.put_raw(commands_a, b'{"kind": "say"}', seen('malformed'))

    assert fleet.commands.empty()
    after = fleet.console.send('greeter-a', 'hand_back', command(force=True))
    assert next_of(fleet.commands, 'hand_back') == after


def test_a_restarted_robot_is_accepted_with_its_new_boot(fleet):
    first = fleet.robot.publish('heartbeat', heartbeat())
    assert next_of(fleet.events, first) == first
    fleet.robot.close()
    fleet.robot = fleet.start_robot('greeter-a', KEY_A)
    drain(fleet.commands)
    fleet.robot.on_command(fleet.commands.put)
    fleet.link_up(fleet.robot, fleet.events)
    again = fleet.robot.publish('alert', {'alert_id': 'a1', 'type': 'staff_requested', 'language': 'vi'})
    got = next_of(fleet.events, 'alert')
    assert got == again and got.boot != first.boot
    assert fleet.console.drop_counts().get('replay', 0) == 0


def test_the_console_sees_nothing_from_an_unknown_robot(fleet):
    stranger = fleet.start_robot('greeter-z', os.urandom(32))
    try:
        wait_for(lambda: (stranger.publish('heartbeat', heartbeat()),
                          fleet.console.drop_counts().get('unknown_robot', 0) >= 3)[1], 'the stranger to be refused')
        with pytest.raises(fp.FleetError) as info:
            fleet.console.send('greeter-z', 'say', command(text='hi'))
        assert info.value.reason == 'unknown_robot'
    finally:
        stranger.close()
    assert all(env.robot_id == 'greeter-a' for env in drain(fleet.events))
    assert fleet.console.received >= 1      # the known robot's link-up heartbeat, nothing of the stranger's


def test_two_robots_each_get_only_their_commands(fleet):
    robot_b = fleet.start_robot('greeter-b', KEY_B)
    got_b: queue.Queue[fp.Envelope] = queue.Queue()
    robot_b.on_command(got_b.put)
    try:
        wait_for(lambda: (robot_b.publish('heartbeat', heartbeat()),
                          fleet.console.send('greeter-b', 'watch', command(watching=True)),
                          not got_b.empty())[2], 'robot B to be linked')
        for_a = fleet.console.send('greeter-a', 'stop_speech', command())
        assert next_of(fleet.commands, 'stop_speech') == for_a
        assert all(env.robot_id == 'greeter-b' for env in drain(got_b))
        assert 'greeter-b' in {env.robot_id for env in drain(fleet.events)}    # B's link-up heartbeats
    finally:
        robot_b.close()


def test_sending_refuses_what_the_protocol_refuses(fleet):
    with pytest.raises(fp.FleetError) as info:
        fleet.robot.publish('say', command(text='hi'))            # a robot cannot issue commands
    assert info.value.reason == 'unknown_kind'
    with pytest.raises(fp.FleetError) as info:
        fleet.console.send('greeter-a', 'say', command(text=''))
    assert info.value.reason == 'malformed'
    fleet.robot.close()
    fleet.robot.close()                                             # idempotent
    with pytest.raises(RuntimeError):
        fleet.robot.publish('heartbeat', heartbeat())


def test_config_is_explicit():
    config = zenoh_config(['tcp/127.0.0.1:7447'], ['tcp/10.0.0.1:7447'])
    assert json.loads(config.get_json('scouting/multicast/enabled')) is False
    assert json.loads(config.get_json('scouting/gossip/enabled')) is False
    assert json.loads(config.get_json('listen/endpoints')) == ['tcp/127.0.0.1:7447']
    assert json.loads(zenoh_config([], ['tcp/10.0.0.1:7447']).get_json('listen/endpoints')) == []
    with pytest.raises(ValueError):
        zenoh_config(['tcp/127.0.0.1:7447'], [], mode='client')
    with pytest.raises(ValueError):
        zenoh_config([], ['127.0.0.1:7447'])
    with pytest.raises(ValueError):
        zenoh_config([], [], mode='router')


def test_a_process_using_both_links_exits_cleanly():
    """Zenoh runs threads of its own: a program that closes its links, or forgets to, still exits 0."""
    script = textwrap.dedent('''
        import os, queue, sys, uuid
        from caexpo_robot.fleet import protocol as fp
        from caexpo_robot.fleet.link import ConsoleLink, RobotLink, zenoh_config
        key = os.urandom(32)
        port = int(sys.argv[1])
        console = ConsoleLink({'greeter-a': key}, zenoh_config(['tcp/127.0.0.1:' + sys.argv[1]], []))
        robot = RobotLink('greeter-a', key, zenoh_config([], ['tcp/127.0.0.1:' + sys.argv[1]]))
        got = queue.Queue()
        console.on_event(got.put)
        robot.on_command(lambda env: robot.publish('ack', {'command_id': env.body.command_id, 'ok': True}))
        for _ in range(250):
            console.send('greeter-a', 'stop_speech', {'command_id': uuid.uuid4().hex, 'operator': 'lan'})
            try:
                got.get(timeout=0.04)
                break
            except queue.Empty:
                pass
        else:
            sys.exit(3)
        if sys.argv[2] == 'close':
            robot.close()
            console.close()
        print('acked')
    ''')
    for how in ('close', 'leave-open'):
        done = subprocess.run([sys.executable, '-c', script, str(free_port()), how], cwd=REPO, capture_output=True,
                              text=True, timeout=60)
        assert (done.returncode, done.stdout.strip()) == (0, 'acked'), done.stderr[-2000:]


def test_the_documented_router_acl_confines_each_robot_to_its_own_keys(tmp_path):
    """docs/fleet.md's hall router config, run as an in-process Zenoh router with its user names: robot A's
    credentials may put A's events and hear A's commands, nothing of robot B's."""
    text = open(os.path.join(REPO, 'docs', 'fleet.md'), encoding='utf-8').read()
    router_json5 = text.split('```json5\n', 1)[1].split('```', 1)[0]
    users = tmp_path / 'hall-a.users'
    users.write_text('greeter-a:pw-a\ngreeter-b:pw-b\nconsole-router:pw-c\n')
    port = free_port()
    router_json5 = (router_json5.replace('tcp/10.20.0.1:7447', endpoint(port))
                    .replace('"tcp/10.0.0.1:7447"', '').replace('/etc/zenoh/hall-a.users', str(users)))
    router = zenoh.open(zenoh.Config.from_json5(router_json5))

    def client(user: str, password: str) -> zenoh.Config:
        config = zenoh_config([], [endpoint(port)], mode='client')
        config.insert_json5('transport/auth/usrpwd/user', json.dumps(user))
        config.insert_json5('transport/auth/usrpwd/password', json.dumps(password))
        return config

    console = ConsoleLink(KEYS, client('console-router', 'pw-c'))
    events: queue.Queue[fp.Envelope] = queue.Queue()
    console.on_event(events.put)
    robot = RobotLink('greeter-a', KEY_A, client('greeter-a', 'pw-a'))
    commands: queue.Queue[fp.Envelope] = queue.Queue()
    robot.on_command(commands.put)
    intruder = zenoh.open(client('greeter-a', 'pw-a'))        # robot A's credentials, used for B's keys
    overheard: list[zenoh.Sample] = []
    eavesdrop = intruder.declare_subscriber(fp.commands_key('greeter-b'), overheard.append)
    try:
        wait_for(lambda: (robot.publish('heartbeat', heartbeat()),
                          console.send('greeter-a', 'watch', command(watching=True)),
                          not events.empty() and not commands.empty())[2], 'robot A to be linked via the router')
        for _ in range(5):
            intruder.put(fp.events_key('greeter-b'), b'{"robot_id": "greeter-b"}')
            console.send('greeter-b', 'stop_speech', command())
        marker = robot.publish('reply', {'text': 'after the intruder'})
        next_of(events, marker)         # A's later event arrived: the router had passed or denied the others
        assert console.drop_counts() == {}                       # nothing put on B's key reached the console
        assert all(env.robot_id == 'greeter-a' for env in drain(events))
        assert overheard == []                                    # and A hears no command for B
    finally:
        eavesdrop.undeclare()
        intruder.close()
        robot.close()
        console.close()
        router.close()
