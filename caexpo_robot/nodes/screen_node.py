"""screen: serves the robot's touchscreen page and bridges it to the typed ROS messages (docs/screen.md).

The web server (FastAPI + uvicorn, caexpo_robot/screen/server.py) runs on a thread of its own from
__init__ to close(); the bridge (caexpo_robot/screen/bridge.py) is the pure core: frames for the page
from ScreenCard, HeardSpeech, SpeechEvent, ScreenText, HearableLanguages and tts/speaking, and
LanguageChosen / TypedQuestion from the page's frames, which are published here on the executor thread.
"""
from __future__ import annotations

from collections import deque

from std_msgs.msg import Bool

from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.messages import (
    HearableLanguages,
    HeardSpeech,
    LanguageChosen,
    ScreenCard,
    ScreenText,
    SpeechEvent,
    TypedQuestion,
)
from caexpo_robot.nodes.common import ERROR, LATCHED, OK, CaexpoNode, Param, Range, run_node
from caexpo_robot.screen.bridge import ScreenBridge
from caexpo_robot.screen.server import ScreenServer


class Outbox:
    """Messages from the page waiting for the executor thread (the simulator waits while `busy`)."""
    def __init__(self) -> None:
        self.queue: deque = deque(maxlen=1000)

    @property
    def busy(self) -> int:
        return len(self.queue)


class ScreenNode(CaexpoNode):
    PARAMS = (
        Param('bind_address', '127.0.0.1', "address the page's web server listens on: 127.0.0.1 serves only the "
              "robot's own kiosk browser; 0.0.0.0 (or ::) exposes the page to the network",
              check=lambda v: None if isinstance(v, str) and v.strip() else 'must be an address'),
        Param('port', 8766, 'TCP port of the page (http://<bind_address>:<port>/); 0 = any free port (tests)',
              check=Range(ge=0, le=65535)),
        Param('max_clients', 4, 'page connections at once (the kiosk, an operator); more are refused (counted)',
              check=Range(ge=1, le=64)),
        Param('max_frames_per_s', 10.0, 'frames a second one page may send; more are dropped (counted)',
              check=Range(gt=0.0, le=100.0)),
        Param('max_frame_bytes', 4096, 'largest frame a page may send; larger ones are dropped (counted)',
              check=Range(ge=256, le=65536)),
        Param('flood_close_frames', 50, 'frames dropped for rate within 5 s that close the connection (a flood)',
              check=Range(ge=1, le=10000)),
    )

    def __init__(self, **kwargs) -> None:
        super().__init__('screen', **kwargs)
        for model in (LanguageChosen, TypedQuestion):
            self.advertise(model)
        self.bridge = ScreenBridge(Phrasebook.load(), max_frame_bytes=self.p.max_frame_bytes,
                                   max_frames_per_s=self.p.max_frames_per_s,
                                   flood_close_frames=self.p.flood_close_frames, max_clients=self.p.max_clients)
        self.outbox = Outbox()
        self.cores.append(self.outbox)
        self._page_input = self.create_guard_condition(self.publish_page_input)
        self.subscribe(ScreenCard, lambda m: self.show(self.bridge.on_card(m)))
        self.subscribe(HeardSpeech, lambda m: self.show(self.bridge.on_heard(m)))
        self.subscribe(SpeechEvent, lambda m: self.show(self.bridge.on_speech(m)))
        self.subscribe(ScreenText, lambda m: self.show(self.bridge.on_screen_text(m)))
        self.subscribe(HearableLanguages, lambda m: self.show(self.bridge.on_hearable(m)))
        self.create_subscription(Bool, 'tts/speaking', lambda m: self.show(self.bridge.on_speaking(m.data)), LATCHED)
        self.server = ScreenServer(self.bridge, self.deliver, host=self.p.bind_address, port=self.p.port,
                                   log=self.get_logger().error)
        self.problem = ''
        try:
            self.server.start()
            self.get_logger().info(f'touchscreen page at {self.server.url}')
        except OSError as exc:
            # The robot keeps greeting and talking without its page; diagnostics say why.
            self.problem = f'cannot serve the page on {self.p.bind_address}:{self.p.port}: {exc}'
            self.get_logger().error(self.problem)

    @property
    def port(self) -> int | None:
        return self.server.port

    def show(self, frames: list[dict]) -> None:
        self.server.broadcast(frames)

    def deliver(self, messages: list) -> None:
        """From the server's thread: hand the page's messages to the executor thread."""
        self.outbox.queue.extend(messages)
        self._page_input.trigger()

    def publish_page_input(self) -> None:
        while self.outbox.queue:
            self.publish(self.outbox.queue.popleft())

    def diagnostic_state(self):
        counters = self.bridge.snapshot_counters()
        values = {'clients': self.bridge.clients, 'url': self.server.url if self.server.port else '',
                  'frames_in': counters.pop('frames_in', 0), 'frames_out': counters.pop('frames_out', 0),
                  'page_drops': sum(n for key, n in counters.items() if key.startswith('dropped_')), **counters}
        if self.problem:
            return ERROR, self.problem, values
        return OK, f'{self.bridge.clients} page(s) connected', values

    def close(self) -> None:
        self.server.stop()


def main(args=None) -> int:
    return run_node(ScreenNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
