"""Frame sources for the camera node."""
