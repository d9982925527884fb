"""A small fleet on one machine for the telepresence acceptance tests (API now, browser later): N simulated
robots and one operators' console, every piece the real one.

Each robot is the robot's own nodes — face_detector, tts (WAV files, timed on the clock), interaction,
screen (its page on a free loopback port) and telepresence — in its own ROS namespace (/greeter_a, ...) and
rclpy Context, spun by its own executor thread, with its own Zenoh session (the telepresence node's
RobotLink) connecting to the console's ConsoleLink on a free 127.0.0.1 port. A camera node renders the
simulated entrance (caexpo_robot/sim/entrance.py: a visitor's photo scaled to their distance) so the real
face detector finds, tracks and engages the visitor; the visitor types on the robot's real screen page
(its WebSocket, as the kiosk browser does). The reference assistant runs in a thread, as the simulator
starts it, and answers both robots, each with its own token.

Real time, not the simulator's lock-step clock: the console, the Zenoh link and the browser live on the wall
clock (envelopes are signed with the wall time and judged against the console's, "online" is a heartbeat
within 5 s of wall time, an operator types at human pace), and a sim clock running ahead of the operator
would lapse the takeover (operator_idle_s) or time out commands before the HTTP request that follows. The
asr node is left out (its speech models cost seconds and hundreds of MB; the visitor types), so the
interaction node hears no HearableLanguages and invites visitors to use the screen.

The ROS graph of every robot shares the test process's ROS_DOMAIN_ID (conftest.py: one per test process);
robots are kept apart by their namespaces, which is what the test's "robot B unaffected" checks.
"""
from __future__ import annotations

import json
import os
import secrets
import threading
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter

from caexpo_robot import graph
from caexpo_robot.messages import InteractionEvent, OperatorControl, ScreenCard, SpeechEvent
from caexpo_robot.nodes.common import CAMERA_OUT, TypedNode
from loopback_http import free_port

ROBOT_NODES = ('face_detector', 'tts', 'interaction', 'screen', 'telepresence')
# Over config/greeter.yaml for every robot of the fleet: a visitor waits for the test (or a browser test's
# operator) between questions, longer than the 8 s after which a real robot would prompt and then say goodbye.
FLEET_PARAMS = {'interaction': {'listen_timeout_s': 30.0}}
PASSWORD = 'correct horse battery'
NS = 1_000_000_000


def namespace_of(robot_id: str) -> str:
    return '/' + robot_id.replace('-', '_')


class EntranceCamera(TypedNode):
    """The robot's camera at the simulated entrance (real time): the hall, and the visitor when present,
    standing `distance_m` from the robot. Also the test's ears in this robot's namespace: every
    InteractionEvent, SpeechEvent, ScreenCard and OperatorControl is kept (lists appended on the executor
    thread; the test thread only reads them)."""

    def __init__(self, context: Context, namespace: str, fps: float, width: int = 640, height: int = 480,
                 hfov_deg: float = 60.0) -> None:
        super().__init__('entrance_camera', context=context, namespace=namespace)
        from caexpo_robot.sim.entrance import EntranceRenderer
        from caexpo_robot.sim.scenario import VisitorPlan
        plan = VisitorPlan(name='visitor', photo='astronaut', language='en', path=((0.0, 1.2, 0.5), (1.0, 1.2, 0.5)))
        self.renderer = EntranceRenderer(width, height, hfov_deg, (plan,))
        self.hfov_deg = hfov_deg
        self.visitor_distance_m: float | None = None      # None: nobody in front of the robot
        self.frames = 0
        self.events: list[InteractionEvent] = []
        self.speech: list[SpeechEvent] = []
        self.cards: list[ScreenCard] = []
        self.controls: list[OperatorControl] = []
        from sensor_msgs.msg import CameraInfo, Image
        self.image_pub = self.create_publisher(Image, 'camera/image_raw', CAMERA_OUT)
        self.info_pub = self.create_publisher(CameraInfo, 'camera/camera_info', CAMERA_OUT)
        self.subscribe(InteractionEvent, self.events.append)
        self.subscribe(SpeechEvent, self.speech.append)
        self.subscribe(ScreenCard, self.cards.append)
        self.subscribe(OperatorControl, self.controls.append)
        self.create_timer(1.0 / fps, self.publish_frame)

    def publish_frame(self) -> None:
        from caexpo_robot.nodes.conversions import camera_info_msg, image_msg
        distance = self.visitor_distance_m
        frame, _truth = self.renderer.render([] if distance is None else [('visitor', distance, 0.5)])
        stamp = self.get_clock().now().to_msg()
        self.image_pub.publish(image_msg(frame, stamp, 'camera_optical_frame'))
        self.info_pub.publish(camera_info_msg(frame.shape[1], frame.shape[0], self.hfov_deg, stamp,
                                              'camera_optical_frame'))
        self.frames += 1


class ScreenPage:
    """The robot's touchscreen page as its kiosk browser holds it: a WebSocket on /ws; frames from the robot
    are collected on a thread of its own; `ask` sends what a visitor types."""

    def __init__(self, url: str) -> None:
        from websockets.sync.client import connect
        self.ws = connect(url.replace('http://', 'ws://') + 'ws', max_size=None, open_timeout=5)
        self.frames: list[dict] = []
        self._thread = threading.Thread(target=self._receive, name='screen-page', daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        from websockets.exceptions import ConnectionClosed
        try:
            while True:
                self.frames.append(json.loads(self.ws.recv()))
        except ConnectionClosed:
            return

    def ask(self, text: str, language: str | None = None) -> None:
        self.ws.send(json.dumps({'type': 'ask', 'text': text, **({'language': language} if language else {})},
                                ensure_ascii=False))

    def of_type(self, kind: str) -> list[dict]:
        return [f for f in list(self.frames) if f.get('type') == kind]

    def state(self) -> dict | None:
        states = self.of_type('state')
        return states[-1] if states else None

    def close(self) -> None:
        self.ws.close()
        self._thread.join(timeout=5)


class SimRobot:
    """One robot's nodes in their namespace, spun by their own executor thread."""

    def __init__(self, robot_id: str, key_file: Path, endpoint: str, work: Path, assistant, fps: float,
                 params: dict[str, dict] | None = None) -> None:
        self.robot_id, self.namespace = robot_id, namespace_of(robot_id)
        work.mkdir(parents=True, exist_ok=True)
        values = graph.load_params()
        token_file = work / 'assistant-token'
        token_file.touch(mode=0o600)
        token_file.write_text(assistant.robot_token(robot_id) + '\n', encoding='utf-8')
        values['tts'].update(audio_output='file', wav_dir=str(work / 'speech'))
        values['screen'].update(port=0)
        values['interaction'].update(robot_id=robot_id, assistant_url=assistant.url,
                                     assistant_token_file=str(token_file))
        # watch_ttl_s: the API-level tests' operators open no event stream, and the console confirms only views
        # with one (every 10 s), so a slow run outlived the robots' 30 s and the banner fell ('watching' expected
        # after the hand back). Expiry itself: test_telepresence_core.py, on its own clock.
        values['telepresence'].update(robot_id=robot_id, key_file=str(key_file), zenoh_connect=endpoint,
                                      watch_ttl_s=600.0)
        for overrides in (FLEET_PARAMS, params or {}):
            for node_name, extra in overrides.items():
                values.setdefault(node_name, {}).update(extra)
        self.context = Context()
        rclpy.init(context=self.context, args=[])
        self.executor = SingleThreadedExecutor(context=self.context)
        self.nodes: dict[str, object] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failure: BaseException | None = None     # what ended the executor thread, if anything did
        try:
            for name in ROBOT_NODES:
                overrides = [Parameter(k, value=v) for k, v in values.get(name, {}).items()]
                self.nodes[name] = graph.node_class(name)(context=self.context, namespace=self.namespace,
                                                          parameter_overrides=overrides,
                                                          start_parameter_services=False)
            self.camera = EntranceCamera(self.context, self.namespace, fps)
            for node in (*self.nodes.values(), self.camera):
                self.executor.add_node(node)
            self._thread = threading.Thread(target=self._spin, name=f'robot-{robot_id}', daemon=True)
            self._thread.start()
            # The node opens its RobotLink on a thread of its own (retried while Zenoh refuses): wait for it.
            telepresence = self.nodes['telepresence']
            deadline = time.monotonic() + 10
            while telepresence.link is None and time.monotonic() < deadline:
                time.sleep(0.02)
            if telepresence.link is None:
                raise RuntimeError(f'{robot_id}: telepresence has no link: {telepresence.link_problem}')
        except BaseException:
            self.close()
            raise

    def _spin(self) -> None:
        try:
            while not self._stop.is_set():
                self.executor.spin_once(timeout_sec=0.05)
        except BaseException as exc:   # the nodes contain their callbacks' errors: this is rclpy itself failing
            self.failure = exc
            raise

    @property
    def screen_url(self) -> str:
        return self.nodes['screen'].server.url

    @property
    def events(self) -> list[InteractionEvent]:
        return self.camera.events

    @property
    def speech(self) -> list[SpeechEvent]:
        return self.camera.speech

    @property
    def cards(self) -> list[ScreenCard]:
        return self.camera.cards

    @property
    def controls(self) -> list[OperatorControl]:
        return self.camera.controls

    def visitor_steps_up(self, distance_m: float = 1.2) -> None:
        self.camera.visitor_distance_m = distance_m

    def visitor_leaves(self) -> None:
        self.camera.visitor_distance_m = None

    def events_of(self, kind: str) -> list[InteractionEvent]:
        return [e for e in list(self.events) if e.type == kind]

    def spoken(self, purpose: str | None = None) -> list[SpeechEvent]:
        """utterance_started events of the tts node (what the robot began saying), of one purpose if given."""
        return [e for e in list(self.speech) if e.type == 'utterance_started'
                and (purpose is None or e.tag.purpose == purpose)]

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.executor.shutdown()
        for node in self.nodes.values():
            node.close()
            node.destroy_node()
        if hasattr(self, 'camera'):
            self.camera.destroy_node()
        rclpy.try_shutdown(context=self.context)


@dataclass
class Fleet:
    console: object                      # caexpo_console.RunningConsole
    link: object                         # the console's ConsoleLink
    pump: object                         # caexpo_console.server.EventPump
    assistant: object                    # caexpo_assistant RunningAssistant
    robots: dict[str, SimRobot] = field(default_factory=dict)
    keys: dict[str, bytes] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.console.url

    def add_user(self, name: str, role: str, password: str = PASSWORD) -> None:
        self.console.auth.add_user(name, role, password)

    def login(self, name: str, password: str = PASSWORD):
        """An httpx client holding `name`'s session cookie, and its CSRF header."""
        import httpx
        client = httpx.Client(base_url=self.url, timeout=10)
        response = client.post('/api/login', json={'name': name, 'password': password})
        assert response.status_code == 200, response.text
        return client, {'X-CSRF-Token': response.json()['csrf']}


def _write_key(path: Path, key: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'w', encoding='utf-8') as out:
        out.write(key.hex() + '\n')
    return path


# The console users of the two-robot acceptance tests (API and browser): two operators to contend for a robot,
# and one of each other role.
STAFF = (('olga', 'operator'), ('minh', 'operator'), ('vera', 'viewer'), ('sam', 'supervisor'))


@contextmanager
def telepresence_fleet(work: Path, robot_ids=('greeter-a', 'greeter-b'), *, fps: float = 8.0,
                       robot_params: dict[str, dict] | None = None, staff=(), **console_settings) -> Iterator[Fleet]:
    """A console (SQLite in `work`) with its ConsoleLink listening on a free loopback port, the reference
    assistant, and one SimRobot per id connecting to the console; all stopped on exit, robots first.
    `staff`: (name, role) console users added (password PASSWORD)."""
    from caexpo_console.server import EventPump

    from caexpo_assistant import start_in_thread as start_assistant
    from caexpo_console import start_in_thread as start_console
    from caexpo_robot.fleet.link import ConsoleLink, zenoh_config
    work = Path(work)
    keys = {robot_id: secrets.token_bytes(32) for robot_id in robot_ids}
    endpoint = f'tcp/127.0.0.1:{free_port()}'
    with ExitStack() as stack:
        assistant = start_assistant(db_url=f'sqlite:///{work / "assistant.sqlite3"}')
        stack.callback(assistant.stop)
        link = stack.enter_context(ConsoleLink(keys, zenoh_config([endpoint], [])))
        console = start_console(link, db=str(work / 'console.sqlite3'),
                                robots={robot_id: {'entrance': f'entrance_{robot_id[-1]}', 'label': robot_id}
                                        for robot_id in robot_ids}, **console_settings)
        stack.callback(console.stop)
        pump = EventPump(console.hub, 10000)
        stack.callback(pump.stop)
        link.on_event(pump.put)
        fleet = Fleet(console, link, pump, assistant, keys=keys)
        for robot_id in robot_ids:
            key_file = _write_key(work / f'{robot_id}.key', keys[robot_id])
            robot = SimRobot(robot_id, key_file, endpoint, work / robot_id, assistant, fps, robot_params)
            stack.callback(robot.close)
            fleet.robots[robot_id] = robot
        for name, role in staff:
            fleet.add_user(name, role)
        yield fleet
