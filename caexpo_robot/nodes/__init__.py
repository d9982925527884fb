"""Thin rclpy shells, one module per executable."""
