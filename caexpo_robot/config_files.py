"""Configuration files validated one way everywhere: a pydantic model per file, unknown keys refused.

Every YAML file the robot (and the reference assistant) reads — scenarios, config/*.yaml, seed data,
server settings — goes through `load_config`/`validate_config`, so a misspelt key is refused with the
file and the field named, in the same words, wherever it appears.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError


class ConfigError(ValueError):
    """A configuration file that cannot be used: the text names the file and the field."""


class ConfigModel(BaseModel):
    """Base of every configuration model: unknown (misspelt) keys are errors, NaN is not a number."""
    model_config = ConfigDict(extra='forbid', allow_inf_nan=False)


C = TypeVar('C', bound=BaseModel)


def read_yaml(path: str | Path) -> Any:
    """The parsed YAML document; ConfigError naming the file if it is missing or not YAML."""
    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as exc:
        raise ConfigError(f'{path}: cannot read: {exc.strerror or exc}') from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f'{path}: not valid YAML: {exc}') from None


def validate_config(model: type[C], data: Any, source: str | Path) -> C:
    """`data` as a `model`; ConfigError listing every bad field as `source: a.b.c: what is wrong`."""
    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            where = '.'.join(str(part) for part in error['loc']) or '(top level)'
            message = 'unknown key (misspelt?)' if error['type'] == 'extra_forbidden' else error['msg']
            problems.append(f'{source}: {where}: {message}')
        raise ConfigError('\n'.join(problems)) from None


def load_config(model: type[C], path: str | Path) -> C:
    """Read and validate one YAML configuration file."""
    return validate_config(model, read_yaml(path), path)
