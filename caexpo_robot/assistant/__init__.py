"""The embedded reference assistant: the expo's /v1 HTTP contract served from seed data (SQLite or PostgreSQL)."""
from .languages import LANGUAGES
from .server import RunningAssistant, start_in_thread

__all__ = ['LANGUAGES', 'RunningAssistant', 'start_in_thread']
