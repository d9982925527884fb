"""What every caexpo_robot node shares: declared parameters, typed messages, counters, /diagnostics, a clean main().

Typed messages (caexpo_robot/messages.py) cross ROS only here: `subscribe(Model, callback)` decodes,
refuses and counts; `publish(message)` encodes on the model's own topic. No node parses JSON itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Sequence, TypeVar

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from std_msgs.msg import String

from caexpo_robot.health import NodeHealth
from caexpo_robot.messages import Message, encode

OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR

# A late subscriber still gets the last value (the "robot is speaking" flag, camera info).
LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL,
                     reliability=ReliabilityPolicy.RELIABLE)
# Frames: only the newest matters; never queue stale images behind a slow detector. Best effort, as
# camera drivers publish (rclpy's sensor-data profile): a best-effort subscription matches both
# reliable and best-effort publishers, a reliable one never receives from a best-effort driver.
SENSOR_DATA = qos_profile_sensor_data
# What our own camera publishers offer: reliable (it serves reliable and best-effort subscribers alike),
# shallow (a slow subscriber gets the newest frame, not a backlog).
CAMERA_OUT = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
# Audio: every chunk matters (a lost one cuts a word); 5 s of 100 ms chunks absorb a slow recognizer.
AUDIO = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
EVENTS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE)
MESSAGE_QOS = {'events': EVENTS, 'latched': LATCHED}

M = TypeVar('M', bound=Message)


@dataclass(frozen=True)
class Param:
    """One declared parameter: the default here equals the value in config/greeter.yaml (a test checks)."""
    name: str
    default: Any
    description: str
    read_only: bool = True


class TypedNode(Node):
    """A node that exchanges typed messages: the one decode and encode path (the simulator's driver
    and test probes use it too); refused payloads are counted in `health`."""

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.health = NodeHealth()
        self.counters = self.health.counters   # read by tests and the simulator's summary
        self._message_pubs: dict[type[Message], Any] = {}

    def drop(self, key: str, reason: str) -> None:
        """A refused input: counted, logged (first of a kind, then throttled), shown in diagnostics."""
        if self.health.drop(key, reason):
            self.get_logger().warning(f'dropped {key}: {reason[:300]}')

    # --- typed messages: the one decode and encode path ----------------------------------------------
    def subscribe(self, model: type[M], callback: Callable[[M], None], topic: str | None = None):
        """Receive `model` messages on its topic: a payload that does not decode is a counted drop
        (`dropped_<Model>`), never an exception in the callback."""
        def on_string(msg: String) -> None:
            message = self.health.receive(model, msg.data, self.get_logger().warning)
            if message is not None:
                callback(message)
        return self.create_subscription(String, topic or model.TOPIC, on_string, MESSAGE_QOS[model.QOS])

    def advertise(self, model: type[Message]):
        """The publisher of `model` messages (created once; call early so subscribers discover it)."""
        if model not in self._message_pubs:
            self._message_pubs[model] = self.create_publisher(String, model.TOPIC, MESSAGE_QOS[model.QOS])
        return self._message_pubs[model]

    def publish(self, message: Message) -> None:
        self.advertise(type(message)).publish(String(data=encode(message)))


class CaexpoNode(TypedNode):
    """Base node: declares `PARAMS`, counts drops and errors, publishes /diagnostics at 1 Hz."""

    PARAMS: Sequence[Param] = ()

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.p = SimpleNamespace(**{param.name.replace('.', '_'): self.declare_parameter(
            param.name, param.default,
            ParameterDescriptor(description=param.description, read_only=param.read_only)).value
            for param in self.PARAMS})
        self._diagnostics_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.cores: list = []   # the node's pure cores with background work: each has a `busy` count
        self.create_timer(1.0, self.publish_diagnostics)

    def count(self, key: str, n: int = 1) -> None:
        self.health.count(key, n)

    # Subclasses report their own state; the counters are always added.
    def diagnostic_state(self) -> tuple[int, str, dict[str, Any]]:
        return OK, 'running', {}

    def publish_diagnostics(self) -> None:
        level, message, values = self.diagnostic_state()
        status = DiagnosticStatus(
            level=level, name=f'caexpo_robot: {self.get_fully_qualified_name()}', message=message,
            hardware_id=self.get_namespace().strip('/') or 'caexpo_robot',
            values=[KeyValue(key=k, value=v) for k, v in self.health.values(values).items()])
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self._diagnostics_pub.publish(msg)

    def pending_work(self) -> int:
        """Work the node's cores have not settled (speech in synthesis, a question at the assistant):
        the simulator advances its clock only when every node reports 0."""
        return sum(core.busy for core in self.cores)

    def close(self) -> None:
        """Stop background threads; called before destroy_node(). Safe to call twice."""


# Python runs a signal handler only between bytecodes, never inside rcl's wait: the spin timeout bounds
# how long a stop request waits on an idle node (10 wake-ups a second cost nothing measurable).
STOP_POLL_S = 0.1


def run_node(factory: Callable[[], CaexpoNode], args: Iterable[str] | None = None) -> int:
    """Spin one node until SIGINT/SIGTERM, then tear it down in order and exit 0.

    The signal only sets a flag (stop_request); the loop sees it between callbacks, so the context is
    still valid for every callback, for close() and for destroy_node(). A signal during construction
    (a model loading) takes effect once construction returns; more signals during teardown change nothing.
    """
    from caexpo_robot.nodes import stop_request
    stop_request.catch()
    rclpy.init(args=args, signal_handler_options=rclpy.SignalHandlerOptions.NO)
    node: CaexpoNode | None = None
    executor: SingleThreadedExecutor | None = None
    try:
        if stop_request.requested.is_set():
            return 0
        node = factory()
        executor = SingleThreadedExecutor()
        executor.add_node(node)
        while not stop_request.requested.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=STOP_POLL_S)
        node.get_logger().info(f'{stop_request.first_signal_name() or "shutdown"}: stopping')
    except ExternalShutdownException:
        pass
    finally:
        _tear_down(node, executor)
    return 0


def _tear_down(node: CaexpoNode | None, executor: SingleThreadedExecutor | None) -> None:
    """Threads first (they may still publish), then the executor, the node, the context: each step
    runs even if an earlier one failed, so nothing is left half open."""
    try:
        if node is not None:
            node.close()
    finally:
        try:
            if executor is not None:
                executor.shutdown()
        finally:
            try:
                if node is not None:
                    node.destroy_node()
            finally:
                rclpy.try_shutdown()
