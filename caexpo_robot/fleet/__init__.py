"""The fleet link between robots and the operators' console: the signed wire format (protocol.py, pure)
and the Zenoh sessions that carry it (link.py). Never imports rclpy: the console uses it without ROS."""
