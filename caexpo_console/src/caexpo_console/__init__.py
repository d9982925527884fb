"""The operators' console: one authenticated place to watch, speak through and take over the fleet's robots.

Its own package beside the robot (never joins a ROS graph); it imports only pure modules of caexpo_robot
(fleet.protocol, fleet.link, messages' types, config_files).
"""
from .server import ConsoleSettings, RunningConsole, start_in_thread

__all__ = ['ConsoleSettings', 'RunningConsole', 'start_in_thread']
