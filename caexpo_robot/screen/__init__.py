"""The robot's touchscreen: the pure bridge (bridge.py), the web server (server.py), the page (static/)."""
