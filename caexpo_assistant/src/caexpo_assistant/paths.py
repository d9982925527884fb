"""Where the assistant's packaged data lives: data/seed, data/replies, data/server.yaml (package data,
so a `pip install` of caexpo_assistant carries them; nothing is read from the robot's config/)."""
from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / 'data'


def data_path(*parts: str) -> Path:
    """A file or folder under the package's data/ directory."""
    return DATA_DIR.joinpath(*parts)
