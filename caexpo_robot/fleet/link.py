"""The fleet link over Zenoh: `RobotLink` (one robot) and `ConsoleLink` (the operators' console).

Both sign what they send and verify what they receive (protocol.py): an envelope failing any check is
dropped and counted in `.drops` by its reason; the link keeps working. Only bytes cross Zenoh; the
robot's ROS graph never does.

Threads: each link receives on a daemon thread of its own (`fleet-rx-…`), fed by a bounded Zenoh channel,
never on the caller's thread. Callbacks given to `on_command`/`on_event` run there and must hand over (a
queue, `loop.call_soon_threadsafe`, an rclpy guard condition) rather than do work or touch
non-thread-safe state. (Zenoh's own callback mode runs Python callbacks on a non-daemon thread that
lives as long as the subscriber: a program that forgot close() would then never exit.) `publish`/`send` may be called
from any thread: signing and putting happen under one lock, so envelopes leave in seq order (a receiver
refuses a seq older than one it has seen). `drops` is a Counter updated under the link's lock; read it
with `drop_counts()` for a consistent copy.

Sessions: `zenoh_config` turns multicast and gossip scouting off, so a session talks only to the
endpoints it is given (no discovery on the hall's network, nothing learnt or told about other nodes).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Literal

import zenoh

from caexpo_robot.fleet.protocol import (
    COMMAND_KINDS,
    DEFAULT_MAX_SKEW_S,
    EVENTS_WILDCARD,
    MAX_ENVELOPE_BYTES,
    Body,
    Envelope,
    FleetError,
    ReplayState,
    Sender,
    Signer,
    commands_key,
    events_key,
    robot_id_of_key,
    verify,
)

log = logging.getLogger(__name__)

# Zenoh itself drops messages larger than this before they reach Python (no 1 GB allocation from a
# hostile peer); anything between MAX_ENVELOPE_BYTES and this reaches verify() and is counted too_large.
ZENOH_MAX_MESSAGE_BYTES = 4 * MAX_ENVELOPE_BYTES

# Received samples waiting for verification; when full, Zenoh waits (back-pressure on that link) rather
# than dropping silently. Verification is quick, so this fills only if a callback blocks.
RECEIVE_QUEUE = 256
CLOSE_JOIN_S = 2.0

Callback = Callable[[Envelope], None]
Clock = Callable[[], float]

# One priority per direction: Zenoh keeps order only within a priority, and a receiver refuses a seq not
# greater than the last one it accepted (protocol.ReplayState), so a robot's ack put at a higher priority
# overtook the operator's utterance put just before it and the console dropped that as a replay (seen in
# test_telepresence_browser: the operator's line missing from the transcript about one run in three).
# Commands (the console's only kinds) all go first; every robot event, thumbnails included, at DATA.
_PRIORITY = {kind: zenoh.Priority.INTERACTIVE_HIGH for kind in COMMAND_KINDS}


def zenoh_config(listen: list[str], connect: list[str], mode: Literal['peer', 'client'] = 'peer') -> zenoh.Config:
    """A Zenoh session config with explicit endpoints only (e.g. `tcp/127.0.0.1:7447`).

    - multicast and gossip scouting off: no discovery, the session connects only to `connect`;
    - `listen` replaces Zenoh's default (a peer otherwise listens on every interface): [] listens nowhere;
    - shared memory off: fleet traffic crosses machines, and SHM would bypass the message size cap;
    - 'client' with a router (deployment: a router does not route between peers while gossip is off; the
      session reconnects when the router restarts, but zenoh.open fails while it is unreachable: retry);
      'peer' without one (tests, a robot beside the console): opens at once, connects in the background."""
    if mode not in ('peer', 'client'):
        raise ValueError(f'mode must be peer or client, not {mode!r}')
    if mode == 'client' and listen:
        raise ValueError('a client session does not listen')
    for endpoint in [*listen, *connect]:
        if not isinstance(endpoint, str) or '/' not in endpoint:
            raise ValueError(f'endpoint {endpoint!r} is not <protocol>/<address>, e.g. tcp/127.0.0.1:7447')
    config = zenoh.Config()
    for key, value in (('mode', mode),
                       ('listen/endpoints', list(listen)),
                       ('connect/endpoints', list(connect)),
                       ('scouting/multicast/enabled', False),
                       ('scouting/gossip/enabled', False),
                       ('transport/shared_memory/enabled', False),
                       ('transport/link/rx/max_message_size', ZENOH_MAX_MESSAGE_BYTES),
                       ('adminspace/enabled', False)):
        config.insert_json5(key, json.dumps(value))
    return config


class _Link:
    """What both ends share: a session, a signer, a verifier with its replay state, counted drops."""

    def __init__(self, sender: Sender, keys: Mapping[str, bytes], config: zenoh.Config, subscribe_to: str,
                 clock: Clock, max_skew_s: float, expected_robot: str | None = None) -> None:
        self._keys = dict(keys)
        self._signer = Signer(sender, self._keys)
        self._peer: Sender = 'console' if sender == 'robot' else 'robot'
        self._clock = clock
        self._max_skew_s = max_skew_s
        self._replay = ReplayState()
        self._lock = threading.Lock()          # counters and callbacks
        self._send_lock = threading.Lock()     # sign + put: envelopes leave in seq order
        self._callbacks: list[Callback] = []
        self._expected_robot = expected_robot
        self.drops: Counter[str] = Counter()
        self.received = 0                      # envelopes verified and handed to the callbacks
        self.sent = 0
        self.callback_errors = 0
        self._closed = False
        self._session = zenoh.open(config)
        try:
            self._subscriber = self._session.declare_subscriber(subscribe_to,
                                                                zenoh.handlers.FifoChannel(RECEIVE_QUEUE))
        except BaseException:
            self._session.close()
            raise
        self._receiver = threading.Thread(target=self._receive, name=f'fleet-rx-{sender}', daemon=True)
        self._receiver.start()

    @property
    def boot(self) -> str:
        return self._signer.boot

    def _add_callback(self, callback: Callback) -> None:
        with self._lock:
            self._callbacks.append(callback)

    def _receive(self) -> None:
        handler = self._subscriber.handler
        while True:
            try:
                sample = handler.recv()
            except zenoh.ZError:       # the subscriber was undeclared: the link is closed
                return
            self._on_sample(sample)

    def _on_sample(self, sample: zenoh.Sample) -> None:
        """On the receive thread: verify, count, hand the envelope to the callbacks. Never raises."""
        try:
            key_robot = robot_id_of_key(str(sample.key_expr))
            if key_robot is None:
                raise FleetError('malformed', 'key expression')
            if self._expected_robot is not None and key_robot != self._expected_robot:
                raise FleetError('wrong_robot', str(sample.key_expr)[:120])
            if sample.kind != zenoh.SampleKind.PUT:
                raise FleetError('malformed', 'not a put')
            raw = sample.payload.to_bytes()
            envelope = verify(raw, self._keys, self._peer, self._replay, self._clock(),
                              max_skew_s=self._max_skew_s, robot_id=key_robot)
        except FleetError as exc:
            with self._lock:
                self.drops[exc.reason] += 1
            log.debug('fleet: dropped %s', exc)
            return
        except Exception:      # a Zenoh or parser surprise must not end the receive thread
            with self._lock:
                self.drops['malformed'] += 1
            log.exception('fleet: unexpected error on a received sample')
            return
        with self._lock:
            self.received += 1
            callbacks = list(self._callbacks)
        for callback in callbacks:
            try:
                callback(envelope)
            except Exception:
                with self._lock:
                    self.callback_errors += 1
                log.exception('fleet: callback failed on %s', envelope.kind)

    def _put(self, robot_id: str, kind: str, body: Body | Mapping[str, Any]) -> Envelope:
        with self._send_lock:
            if self._closed:
                raise RuntimeError('fleet link closed')
            envelope = self._signer.sign(robot_id, kind, body, self._clock())
            self._session.put(envelope.key_expr, envelope.encode(), encoding=zenoh.Encoding.APPLICATION_JSON,
                              priority=_PRIORITY.get(kind, zenoh.Priority.DATA))
            self.sent += 1
        return envelope

    def drop_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self.drops)

    def close(self) -> None:
        """Undeclare and close the session (idempotent). Callbacks have stopped when this returns, unless
        it is called from one of them (or one hangs longer than CLOSE_JOIN_S)."""
        with self._send_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._subscriber.undeclare()
            presence = getattr(self, '_presence', None)
            if presence is not None:
                presence.undeclare()
        finally:
            self._session.close()
        if threading.current_thread() is not self._receiver:
            self._receiver.join(CLOSE_JOIN_S)

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self):
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


class RobotLink(_Link):
    """A robot's end: publishes its events on caexpo/robots/<id>/events, receives the console's commands
    from caexpo/robots/<id>/commands (verified with the robot's key; only COMMAND_KINDS pass)."""

    def __init__(self, robot_id: str, key: bytes, config: zenoh.Config, *, clock: Clock = time.time,
                 max_skew_s: float = DEFAULT_MAX_SKEW_S, presence: bool = False) -> None:
        self.robot_id = robot_id
        self._presence = None
        super().__init__('robot', {robot_id: key}, config, commands_key(robot_id), clock, max_skew_s,
                         expected_robot=robot_id)
        # Declared only to ask Zenoh whether a subscriber (the console) matches our events key; events are
        # still put through the session, at the events' priority. Off by default: behind the router
        # config of docs/fleet.md (access control on) a client's publisher declaration makes the router stop
        # passing that session's puts on the key (found by test_fleet_link's ACL test): the ACL rule that
        # allows it is not worked out yet.
        if presence:
            try:
                self._presence = self._session.declare_publisher(events_key(robot_id))
            except BaseException:
                self.close()
                raise

    def console_present(self) -> bool:
        """With `presence`: True while some subscriber (the console) matches this robot's events key, per
        Zenoh's matching status (updated as subscriptions are declared and sessions connect or drop);
        without: True while the link is open. False once the link is closed."""
        if self._closed:
            return False
        if self._presence is None:
            return True
        try:
            return bool(self._presence.matching_status.matching)
        except zenoh.ZError:       # closed under our feet
            return False

    def publish(self, kind: str, body: Body | Mapping[str, Any]) -> Envelope:
        """Sign and put one event; FleetError if it is not a valid event (unknown kind, malformed, too
        large: e.g. a thumbnail over its cap). Zenoh drops rather than blocks on a congested link."""
        return self._put(self.robot_id, kind, body)

    def on_command(self, callback: Callback) -> None:
        """Call `callback(envelope)` for every verified command (on the link's receive thread: hand over)."""
        self._add_callback(callback)


class ConsoleLink(_Link):
    """The console's end: receives every known robot's events from caexpo/robots/*/events (an unknown
    robot's are dropped as unknown_robot) and sends commands signed with the robot's key."""

    def __init__(self, keys: Mapping[str, bytes], config: zenoh.Config, *, clock: Clock = time.time,
                 max_skew_s: float = DEFAULT_MAX_SKEW_S) -> None:
        for robot_id in keys:
            events_key(robot_id)            # a bad id fails here, not on the first event
        super().__init__('console', keys, config, EVENTS_WILDCARD, clock, max_skew_s)

    @property
    def robots(self) -> list[str]:
        return sorted(self._keys)

    def send(self, robot_id: str, kind: str, body: Body | Mapping[str, Any]) -> Envelope:
        """Sign and put one command to a robot; FleetError('unknown_robot') without its key,
        ('unknown_kind') for anything outside COMMAND_KINDS, ('malformed') for a bad body."""
        return self._put(robot_id, kind, body)

    def on_event(self, callback: Callback) -> None:
        """Call `callback(envelope)` for every verified event (on the link's receive thread: hand over)."""
        self._add_callback(callback)
