"""The greeter's behaviour: a pure state machine (no rclpy)."""
