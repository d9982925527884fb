"""Faces in camera frames: detection (mediapipe BlazeFace), tracking, engagement. No rclpy."""
