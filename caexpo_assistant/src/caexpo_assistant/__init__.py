"""The reference assistant: the expo's /v1 HTTP contract served from seed data (SQLite or PostgreSQL).

Its own package beside the robot: a robot install never needs FastAPI, uvicorn or psycopg. It imports
only pure modules of caexpo_robot (the /v1 contract, the language list, the config-file loader).
"""
from .server import RunningAssistant, ServerSettings, start_in_thread

__all__ = ['RunningAssistant', 'ServerSettings', 'start_in_thread']
