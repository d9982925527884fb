"""telepresence: the robot's side of the operators' console; a shell around TelepresenceCore and a RobotLink.

It listens to the robot's own topics (events, heard speech, speech events, the screen card, faces,
/diagnostics of this robot's nodes) and, only while an operator watches, to the camera at thumbnail rate;
it sends the core's fleet events over the signed Zenoh link (caexpo_robot/fleet/link.py) and publishes
the operators' commands as OperatorControl for the interaction node, the one authority on takeover.
Nothing else from the console reaches the ROS graph: the link verifies signatures and the command
allow-list, the core maps each allowed command to one OperatorControl.

No link configured (robot_id or key missing): the node idles with a WARN, and the robot serves visitors as
ever; a console that is down changes nothing for visitors either: the link counts as up only while Zenoh
reports a subscriber (the console) matching this robot's events key, and until then events wait in the
core's queue (bounded, alerts first) and are delivered when it returns. A link that cannot be opened (a
'client' session while the hall's router is down) is retried on a thread of its own, link_retry_s doubling
up to link_retry_max_s, with a WARN meanwhile.
Zenoh calls back on its own threads: commands are queued and handed to the executor by a guard condition.
"""
from __future__ import annotations

import os
import queue
import threading

from diagnostic_msgs.msg import DiagnosticArray
from sensor_msgs.msg import Image

from caexpo_robot.messages import FacesFrame, HeardSpeech, InteractionEvent, OperatorControl, ScreenCard, SpeechEvent
from caexpo_robot.nodes.common import OK, SENSOR_DATA, WARN, CaexpoNode, OneOf, Param, Range, run_node
from caexpo_robot.nodes.conversions import rgb_from_msg
from caexpo_robot.telepresence.core import DiagnosticReport, FleetEvent, TelepresenceConfig, TelepresenceCore
from caexpo_robot.telepresence.thumbnails import FaceBoxes, thumbnail

KEY_ENV = 'CAEXPO_FLEET_KEY'
POSITIVE = Range(gt=0)


def _endpoints(text: str) -> list[str]:
    return [part.strip() for part in text.split(',') if part.strip()]


def _level(value) -> int:
    """diagnostic_msgs levels arrive as one byte in rclpy."""
    return value[0] if isinstance(value, (bytes, bytearray)) else int(value)


class TelepresenceNode(CaexpoNode):
    PARAMS = (
        Param('robot_id', '', 'this robot in the fleet (caexpo/robots/<robot_id>/...); empty = no console link'),
        Param('key_file', '', 'file holding this robot\'s fleet key in hex (chmod 600); empty = the environment '
              'variable named by key_env'),
        Param('key_env', KEY_ENV, 'environment variable holding the fleet key in hex when key_file is empty'),
        Param('zenoh_mode', 'peer', "'peer' (opens at once, (re)connects to zenoh_connect in the background) or "
              "'client' (refuses to open while the router is down)",
              check=OneOf('client', 'peer')),
        Param('zenoh_connect', '', 'Zenoh endpoints to connect to, comma-separated (e.g. tcp/router:7447)'),
        Param('zenoh_listen', '', 'Zenoh endpoints to listen on, comma-separated; empty = none (robots connect)'),
        Param('thumbnail_s', 1.0, 'while an operator watches: one blurred camera thumbnail per this many seconds',
              check=Range(ge=0.2)),
        Param('thumbnail_max_width', 320, 'thumbnail width in pixels (never enlarged)', check=Range(ge=16, le=1280)),
        Param('thumbnail_quality', 70, 'thumbnail JPEG quality 1..100', check=Range(ge=1, le=100)),
        Param('face_margin', 0.25, 'each face box is enlarged by this fraction of its size on every side before '
              'it is blurred', check=Range(ge=0, le=2)),
        Param('faces_match_s', 0.2, 'a camera image is sent only if a FacesFrame is this near its stamp',
              check=Range(gt=0, le=2)),
        Param('command_timeout_s', 3.0, 'a command the interaction node does not answer in this is acked as failed',
              check=POSITIVE),
        Param('visitor_waiting_s', 20.0, 'an engaged visitor left this long without a greeting or answer: alert',
              check=POSITIVE),
        Param('handoff_timeout_s', 90.0, 'staff requested and no operator acknowledged it this long: a handoff_failed '
              'alert (cleared on acknowledgement or when the visitor leaves)', check=POSITIVE),
        Param('watch_ttl_s', 30.0, 'a watcher the console has not confirmed for this long is forgotten (the console '
              'confirms open views every 10 s; a console gone without closing them leaves no banner up)',
              check=POSITIVE),
        Param('alert_repeat_s', 15.0, 'an open alert nobody acknowledged is sent again this often (a console that '
              'was down or restarted when it was raised gets it; the console keeps each alert once)', check=POSITIVE),
        Param('diagnostics_after_s', 5.0, 'a backend / camera / microphone problem must last this long to alert',
              check=Range(ge=0)),
        Param('counters_s', 60.0, 'anonymous counters (seen, engaged, served, languages) per this window',
              check=POSITIVE),
        Param('queue_capacity', 500, 'events kept while the console is unreachable (alerts kept first)',
              check=Range(ge=1, le=100000)),
        Param('console_presence', False, "the link counts as up only while Zenoh sees the console subscribed "
              "(events queue meanwhile); off: while the link is open. Not with docs/fleet.md's router ACL yet "
              "(it then stops passing the robot's events)"),
        Param('link_retry_s', 1.0, 'first wait before trying again to open the console link Zenoh refused to open '
              '(a client while its router is down); doubled after each failure', check=Range(gt=0, le=3600)),
        Param('link_retry_max_s', 30.0, 'longest wait between attempts to open the console link',
              check=Range(gt=0, le=3600)),
    )

    def __init__(self, **kwargs) -> None:
        super().__init__('telepresence', **kwargs)
        self.core = TelepresenceCore(TelepresenceConfig(
            thumbnail_s=self.p.thumbnail_s, command_timeout_s=self.p.command_timeout_s,
            visitor_waiting_s=self.p.visitor_waiting_s, diagnostics_after_s=self.p.diagnostics_after_s,
            alert_repeat_s=self.p.alert_repeat_s, watch_ttl_s=self.p.watch_ttl_s,
            handoff_timeout_s=self.p.handoff_timeout_s,
            counters_s=self.p.counters_s, queue_capacity=self.p.queue_capacity), link_up=False)  # until seen
        self.faces = FaceBoxes(self.p.faces_match_s)
        self.hardware_id = self.get_namespace().strip('/') or 'caexpo_robot'
        self.link = None              # set once, by the opener thread, when the link is open
        self.link_problem = ''
        self.link_attempts = 0
        self._link_wanted = False     # robot_id and key configured: the link is open or being opened
        self._closing = threading.Event()
        self._opener: threading.Thread | None = None
        self.commands: queue.SimpleQueue = queue.SimpleQueue()
        self.advertise(OperatorControl)
        self._command_signal = self.create_guard_condition(self._drain_commands)
        self._open_link()
        self.subscribe(InteractionEvent, lambda e: self.send(self.core.on_interaction_event(e, self.now())))
        self.subscribe(HeardSpeech, lambda h: self.send(self.core.on_heard(h, self.now())))
        self.subscribe(SpeechEvent, lambda e: self.send(self.core.on_speech_event(e, self.now())))
        self.subscribe(ScreenCard, lambda c: self.send(self.core.on_screen(c, self.now())))
        self.create_subscription(DiagnosticArray, '/diagnostics', self.on_diagnostics, 10)
        self.image_sub = self.faces_sub = None
        self.create_timer(0.1, self.on_tick)

    def now(self) -> float:
        return self.get_clock().now().nanoseconds * 1e-9

    # --- the link ---------------------------------------------------------------------------------------
    def _fleet_key(self) -> bytes | None:
        from caexpo_robot.fleet.protocol import parse_key, read_secret_file
        if self.p.key_file:
            return parse_key(read_secret_file(self.p.key_file))
        text = os.environ.get(self.p.key_env, '')
        return parse_key(text) if text else None

    def _open_link(self) -> None:
        if not self.p.robot_id:
            self.link_problem = 'no robot_id: no console link (the robot serves visitors regardless)'
            return
        try:
            key = self._fleet_key()
            if key is None:
                self.link_problem = f'no fleet key (key_file or {self.p.key_env}): no console link'
                return
            from caexpo_robot.fleet.link import zenoh_config
            listen, connect = _endpoints(self.p.zenoh_listen), _endpoints(self.p.zenoh_connect)
            zenoh_config(listen, connect, mode=self.p.zenoh_mode)        # a bad endpoint fails here, once
        except Exception as exc:   # a bad key file or endpoint: reported, not retried; visitors still served
            self.link_problem = f'console link not opened: {exc}'[:300]
            self.get_logger().error(self.link_problem)
            return
        self._link_wanted = True
        self.link_problem = 'console link opening'
        # Opening may wait on the network (a router's address that does not answer): never on the executor.
        self._opener = threading.Thread(target=self._open_until_done, name='fleet-open', daemon=True,
                                        args=(key, lambda: zenoh_config(listen, connect, mode=self.p.zenoh_mode)))
        self._opener.start()

    def _open_until_done(self, key: bytes, make_config) -> None:
        """On the opener thread: try until the link opens or the node closes, waiting link_retry_s, doubled
        after each failure up to link_retry_max_s (a router restarting is not hammered by the hall's robots)."""
        from caexpo_robot.fleet.link import RobotLink
        wait = self.p.link_retry_s
        while not self._closing.is_set():
            self.link_attempts += 1
            try:
                link = RobotLink(self.p.robot_id, key, make_config(), presence=self.p.console_presence)
            except Exception as exc:     # zenoh.ZError while the router is unreachable
                self.link_problem = (f'console link not open (attempt {self.link_attempts}, next in {wait:g} s): '
                                     f'{exc}')[:300]
                self.get_logger().warning(self.link_problem, throttle_duration_sec=60.0)
                self._closing.wait(wait)
                wait = min(wait * 2, self.p.link_retry_max_s)
                continue
            link.on_command(self._on_command_thread)
            if self._closing.is_set():
                link.close()
                return
            self.link = link
            self.get_logger().info(f'console link open as {self.p.robot_id} (attempt {self.link_attempts})')
            return

    def _on_command_thread(self, envelope) -> None:
        """On a Zenoh thread: hand over to the executor."""
        self.commands.put(envelope)
        self._command_signal.trigger()

    def _drain_commands(self) -> None:
        while True:
            try:
                envelope = self.commands.get_nowait()
            except queue.Empty:
                return
            self.count(f'commands_{envelope.kind}')
            self.send(self.core.on_command(envelope.kind, envelope.body, self.now()))

    def _link_up(self) -> bool:
        """Whether the console is reachable: the link is open and Zenoh sees a subscriber (the console) on
        this robot's events key. Down, the core queues events (alerts first) and delivers them on return."""
        link = self.link
        return link is not None and link.console_present()

    def send(self, outputs) -> None:
        for out in outputs:
            if isinstance(out, OperatorControl):
                self.publish(out)
            elif isinstance(out, FleetEvent):
                if self.link is None:
                    continue
                try:
                    self.link.publish(out.kind, out.body)
                    self.count(f'sent_{out.kind}')
                except (ValueError, RuntimeError) as exc:     # FleetError is a ValueError; RuntimeError: closed
                    self.drop(f'event_{out.kind}', str(exc))

    # --- the robot's topics ----------------------------------------------------------------------------
    def on_diagnostics(self, msg: DiagnosticArray) -> None:
        me = self.get_fully_qualified_name()
        reports = [DiagnosticReport(status.name, _level(status.level), status.message)
                   for status in msg.status
                   if status.hardware_id == self.hardware_id and not status.name.endswith(me)]
        if reports:
            self.send(self.core.on_diagnostics(reports, self.now()))

    def on_image(self, msg: Image) -> None:
        now = self.now()
        if not self.core.wants_thumbnail(now):
            return        # decimated: at most one thumbnail per thumbnail_s
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        faces = self.faces.for_stamp(stamp)
        if faces is None:   # privacy: faces unknown, nothing sent
            self.count('thumbnail_faces_unknown')
            return
        try:
            jpeg, width, height, blurred = thumbnail(rgb_from_msg(msg), faces, self.p.thumbnail_max_width,
                                                     self.p.thumbnail_quality, self.p.face_margin)
        except ValueError as exc:
            self.drop('image', str(exc))
            return
        self.send(self.core.on_thumbnail(jpeg, width, height, blurred, stamp, now))

    def on_tick(self) -> None:
        now = self.now()
        if self._link_wanted:     # open or still opening: the core queues what the console should get later
            self.send(self.core.set_link(self._link_up(), now))
            self.send(self.core.tick(now))
        # The camera and the face boxes (30 a second each) are subscribed only while someone watches: nothing
        # is even received otherwise (the idle robot would decode 30 FacesFrames a second for nothing).
        if self.core.watchers and self.link is not None and self.image_sub is None:
            self.faces_sub = self.subscribe(FacesFrame, self.faces.add)
            self.image_sub = self.create_subscription(Image, 'camera/image_raw', self.on_image, SENSOR_DATA)
        elif not self.core.watchers and self.image_sub is not None:
            self.destroy_subscription(self.image_sub)
            self.destroy_subscription(self.faces_sub)
            self.image_sub = self.faces_sub = None

    def diagnostic_state(self):
        values = {'watchers': len(self.core.watchers), 'takeover_owner': self.core.takeover_owner or '',
                  'alerts_open': len(self.core.alerts), 'alerts_repeated': self.core.alerts_repeated,
                  'watchers_expired': self.core.watchers_expired,
                  'queued_events': len(self.core.queue), 'link_open_attempts': self.link_attempts,
                  **{f'core_{k}': v for k, v in self.core.drops.items()}}
        if self.link is None:
            return WARN, self.link_problem, values
        values.update({f'link_drop_{k}': v for k, v in self.link.drop_counts().items()})
        if not self.core.link_up:
            return WARN, f'console unreachable: {len(self.core.queue)} event(s) queued', values
        return OK, f'console link up as {self.p.robot_id}', values

    def close(self) -> None:
        self._closing.set()
        if self._opener is not None:
            self._opener.join(5.0)
        if self.link is not None:
            self.link.close()


def main(args=None) -> int:
    return run_node(TelepresenceNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
