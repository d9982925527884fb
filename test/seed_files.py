"""Editing a copy of the packaged seed in a test's temporary folder (validation tests break one field)."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from caexpo_assistant.paths import data_path


def copy_seed(tmp_path) -> Path:
    folder = tmp_path / 'seed'
    shutil.copytree(data_path('seed'), folder)
    return folder


def rewrite(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding='utf-8'))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding='utf-8')
