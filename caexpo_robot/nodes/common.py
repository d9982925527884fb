"""What every caexpo_robot node shares: declared parameters, typed messages, counters, /diagnostics, a clean main().

Typed messages (caexpo_robot/messages.py) cross ROS only here: `subscribe(Model, callback)` decodes,
refuses and counts; `publish(message)` encodes on the model's own topic. No node parses JSON itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Iterable, Sequence, TypeVar

import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.event_handler import PublisherEventCallbacks, SubscriptionEventCallbacks
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import (
    DurabilityPolicy,
    QoSProfile,
    ReliabilityPolicy,
    qos_policy_name_from_kind,
    qos_profile_sensor_data,
)
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
class Range:
    """Bounds of a numeric parameter: any of gt (>), ge (>=), lt (<), le (<=). A bounded parameter is
    also refused when it is NaN or infinite. `Range(gt=0, lt=180)` is the open interval (0, 180)."""
    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def __call__(self, value: Any) -> str | None:
        """None when `value` is within the bounds, else what is wrong with it."""
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return f'must be a finite number {self.describe()}'
        ok = ((self.gt is None or value > self.gt) and (self.ge is None or value >= self.ge)
              and (self.lt is None or value < self.lt) and (self.le is None or value <= self.le))
        return None if ok else f'must be {self.describe()}'

    def describe(self) -> str:
        low = f'> {self.gt:g}' if self.gt is not None else f'>= {self.ge:g}' if self.ge is not None else ''
        high = f'< {self.lt:g}' if self.lt is not None else f'<= {self.le:g}' if self.le is not None else ''
        return ' and '.join(part for part in (low, high) if part) or 'any number'


class OneOf:
    """A parameter that must be one of a few values: `OneOf('device', 'file')`."""
    def __init__(self, *values: Any) -> None:
        self.values = values

    def __call__(self, value: Any) -> str | None:
        return None if value in self.values else f'must be {self.describe()}'

    def describe(self) -> str:
        return 'one of ' + ', '.join(repr(v) for v in self.values)


@dataclass(frozen=True)
class Param:
    """One declared parameter: the default here equals the value in config/greeter.yaml (a test checks).

    `check` validates the value the node starts with (default, parameter file or command line) in
    `CaexpoNode.__init__`, for every node: a callable taking the value and returning None when it is
    acceptable or a text saying what is wrong ("must be > 0"). `Range(gt=0, lt=180)` is the usual one;
    any function works (`lambda v: None if v in ('full', 'short') else "must be 'full' or 'short'"`).
    A refused value stops the node with SystemExit naming the node, the parameter, the value and the
    rule, before it creates any topic. The rule is also shown by `ros2 param describe` (the
    descriptor's additional_constraints). Rules between parameters go in the node's `PARAM_RULES`.
    """
    name: str
    default: Any
    description: str
    read_only: bool = True
    check: Callable[[Any], str | None] | None = None

    def constraint_text(self) -> str:
        if self.check is None:
            return ''
        describe = getattr(self.check, 'describe', None)
        return describe() if callable(describe) else (getattr(self.check, '__doc__', None) or '').strip()


@dataclass(frozen=True)
class ParamRule:
    """A rule between a node's parameters: `holds(p)` (p: the node's values by attribute, dots as
    underscores) must be true, else the node refuses to start with `text`."""
    text: str
    holds: Callable[[SimpleNamespace], bool]


def check_params(node_name: str, params: Sequence[Param], rules: Sequence[ParamRule], values: SimpleNamespace) -> None:
    """SystemExit naming the first refused parameter (or rule), with its value; nothing when all hold."""
    for param in params:
        if param.check is None:
            continue
        value = getattr(values, param.name.replace('.', '_'))
        problem = param.check(value)
        if problem:
            raise SystemExit(f'{node_name}: parameter {param.name} = {value!r} {problem}')
    for rule in rules:
        if not rule.holds(values):
            raise SystemExit(f'{node_name}: parameters refused: {rule.text}')


class TypedNode(Node):
    """A node that exchanges typed messages: the one decode and encode path (the simulator's driver
    and test probes use it too); refused payloads are counted in `health`.

    No exception escapes a callback: every subscription (typed or raw), timer, guard condition, service
    and QoS event callback created through this node is wrapped by `NodeHealth.contain` (counted as
    `callback_errors_<kind>`, logged once per exception type then throttled, the last problem), so one
    bad message or one bug in a rare branch never ends the process. Every subscription and publisher
    also counts what DDS reports below the node: `lost_<topic>` (messages the middleware lost before
    they reached the subscription) and `incompatible_qos_<topic>` (a peer that can never match, e.g. a
    best-effort publisher for a reliable subscription).
    """

    def __init__(self, name: str, **kwargs: Any) -> None:
        # Before Node.__init__: it creates the parameter services through create_service (contained too).
        self.health = NodeHealth()
        self.counters = self.health.counters   # read by tests and the simulator's summary
        super().__init__(name, **kwargs)
        self._message_pubs: dict[type[Message], Any] = {}

    # --- every callback contained ----------------------------------------------------------------------
    def _contain(self, kind: str, callback, where: str = '', fallback=None):
        return self.health.contain(kind, callback, lambda text: self.get_logger().error(text), fallback, where)

    def create_subscription(self, msg_type, topic, callback, qos_profile, **kwargs):
        if kwargs.get('event_callbacks') is None:
            kwargs['event_callbacks'] = self._subscription_events(topic)
        return super().create_subscription(msg_type, topic, self._contain('subscription', callback, topic),
                                           qos_profile, **kwargs)

    def create_publisher(self, msg_type, topic, qos_profile, **kwargs):
        if kwargs.get('event_callbacks') is None:
            kwargs['event_callbacks'] = PublisherEventCallbacks(
                incompatible_qos=self._contain('event', lambda info: self._incompatible(topic, info), topic))
        return super().create_publisher(msg_type, topic, qos_profile, **kwargs)

    def create_timer(self, timer_period_sec, callback, *args, **kwargs):
        if callback is not None:
            callback = self._contain('timer', callback)
        return super().create_timer(timer_period_sec, callback, *args, **kwargs)

    def create_guard_condition(self, callback, *args, **kwargs):
        return super().create_guard_condition(self._contain('guard_condition', callback), *args, **kwargs)

    def create_service(self, srv_type, srv_name, callback, **kwargs):
        # A failed service call still answers: the type's default response (e.g. Trigger: success=False).
        return super().create_service(srv_type, srv_name, self._contain(
            'service', callback, srv_name, fallback=lambda request, response: response), **kwargs)

    # --- what DDS reports below the node ---------------------------------------------------------------
    def _subscription_events(self, topic: str) -> SubscriptionEventCallbacks:
        return SubscriptionEventCallbacks(
            message_lost=self._contain('event', lambda info: self._lost(topic, info), topic),
            incompatible_qos=self._contain('event', lambda info: self._incompatible(topic, info), topic))

    def _lost(self, topic: str, info) -> None:
        lost = int(info.total_count_change)
        if lost > 0 and self.health.problem(f'lost_{topic.strip("/")}', f'{topic}: {info.total_count} message(s) '
                                            'lost in the middleware', n=lost):
            self.get_logger().warning(f'{info.total_count} message(s) lost below the node on {topic}')

    def _incompatible(self, topic: str, info) -> None:
        policy = qos_policy_name_from_kind(info.last_policy_kind)
        if self.health.problem(f'incompatible_qos_{topic.strip("/")}', f'{topic}: a peer with incompatible '
                               f'QoS ({policy})', n=max(int(info.total_count_change), 1)):
            self.get_logger().warning(f'a peer on {topic} offers or requests incompatible QoS ({policy}): '
                                      'no messages flow between them')

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
    PARAM_RULES: Sequence[ParamRule] = ()

    def __init__(self, name: str, **kwargs: Any) -> None:
        super().__init__(name, **kwargs)
        self.p = SimpleNamespace(**{param.name.replace('.', '_'): self.declare_parameter(
            param.name, param.default,
            ParameterDescriptor(description=param.description, read_only=param.read_only,
                                additional_constraints=param.constraint_text())).value
            for param in self.PARAMS})
        try:
            check_params(name, self.PARAMS, self.PARAM_RULES, self.p)
        except SystemExit:
            self.destroy_node()
            raise
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
