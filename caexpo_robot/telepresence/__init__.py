"""Telepresence on the robot: the fleet event stream, operator commands, blurred thumbnails. No rclpy."""
