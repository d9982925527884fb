"""Real rclpy graphs for node tests: one Context per test, nodes spun in the test thread, clean teardown."""
from __future__ import annotations

import time
from contextlib import contextmanager

import rclpy
from rclpy.context import Context
from rclpy.executors import SingleThreadedExecutor
from std_msgs.msg import String

from caexpo_robot.nodes.common import TypedNode


class Graph:
    def __init__(self, context: Context, executor: SingleThreadedExecutor, nodes: list) -> None:
        self.context, self.executor, self.nodes = context, executor, nodes
        # The probe speaks typed messages through the nodes' own decode/encode path.
        self.probe = TypedNode('test_probe', context=context)
        executor.add_node(self.probe)
        self.received: dict[str, list] = {}

    def listen(self, topic: str, msg_type=String, qos=100) -> list:
        messages = self.received.setdefault(topic, [])
        self.probe.create_subscription(msg_type, topic, messages.append, qos)
        return messages

    def listen_messages(self, model) -> list:
        """Every `model` message the probe receives on the model's topic, decoded (bad ones counted in
        self.probe.health)."""
        messages = self.received.setdefault(model.TOPIC, [])
        self.probe.subscribe(model, messages.append)
        return messages

    def send(self, message) -> None:
        """Publish a typed message on its topic (call `typed_publisher` first to wait for subscribers)."""
        self.probe.publish(message)

    def typed_publisher(self, model):
        """The probe's publisher of `model` (a std_msgs/String publisher on model.TOPIC)."""
        return self.probe.advertise(model)

    def publisher(self, topic: str, msg_type=String, qos=100):
        return self.probe.create_publisher(msg_type, topic, qos)

    def spin_until(self, condition, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)
            if condition():
                return True
        return False

    def spin_for(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.executor.spin_once(timeout_sec=0.02)

    def wait_until_heard(self, *node_publishers, timeout: float = 10.0) -> None:
        """Until each of the node's publishers has matched the probe's subscription: a message published
        before that would be lost, and a loaded machine (CI) takes longer to discover."""
        for publisher in node_publishers:
            assert self.spin_until(lambda p=publisher: p.get_subscription_count() >= 1, timeout), \
                f'nobody listens to {publisher.topic_name}'

    def wait_for_subscribers(self, publisher, count: int = 1, timeout: float = 5.0) -> None:
        assert self.spin_until(lambda: publisher.get_subscription_count() >= count, timeout), \
            f'no subscriber on {publisher.topic_name}'


@contextmanager
def ros_graph(*factories):
    """Build nodes with `factory(context=ctx)`; yields a Graph; always shuts everything down."""
    context = Context()
    rclpy.init(context=context, args=[])
    executor = SingleThreadedExecutor(context=context)
    nodes = []
    graph = None
    try:
        for factory in factories:
            node = factory(context=context)
            nodes.append(node)
            executor.add_node(node)
        graph = Graph(context, executor, nodes)
        yield graph
    finally:
        executor.shutdown()
        for node in nodes:
            node.close()
            node.destroy_node()
        if graph is not None:
            graph.probe.destroy_node()
        rclpy.try_shutdown(context=context)
