"""Thin rclpy shells, one module per executable."""
from caexpo_robot.nodes import stop_request

# First thing a node executable runs: from here on SIGINT/SIGTERM ask it to stop (see stop_request).
stop_request.catch_if_node_executable()
