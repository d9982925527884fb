"""ASR settings (config/asr.yaml) as pydantic models: an unknown or misspelt key is refused, naming the
file and the field, the way every configuration file is (caexpo_robot/config_files.py)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from caexpo_robot.config_files import ConfigModel, load_config
from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.paths import config_path

Language = Literal[LANGUAGES]   # type: ignore[valid-type]
NonNegative = Annotated[float, Field(ge=0.0)]


class EndpointConfig(ConfigModel, frozen=True):
    noise_floor_init_dbfs: float = -55.0
    noise_adapt_s: NonNegative = 2.0
    speech_margin_db: float = 10.0
    min_speech_dbfs: float = -45.0
    start_speech_ms: Annotated[int, Field(ge=0)] = 200
    end_silence_s: Annotated[float, Field(gt=0.0)] = 0.5
    max_utterance_s: float = 12.0
    preroll_ms: Annotated[int, Field(ge=0)] = 400

    @model_validator(mode='after')
    def _utterance_longer_than_its_end(self) -> EndpointConfig:
        if self.max_utterance_s <= self.end_silence_s:
            raise ValueError('need end_silence_s < max_utterance_s')
        return self


class ChoiceConfig(ConfigModel, frozen=True):
    lid_weight: Annotated[float, Field(ge=0.0, le=1.0)] = 0.4
    min_lock_score: float = 0.45
    strong_score: float = 0.6
    switch_margin: float = 0.15
    switch_after: Annotated[int, Field(ge=1)] = 2
    doubt_score: float = 0.35
    listen_all_when_locked: bool = False


class AsrConfig(ConfigModel, frozen=True):
    languages: tuple[Language, ...] = ('ko', 'en', 'zh', 'vi', 'fil')
    models: dict[Language, str | None] = {}           # a model folder per language; None: search for it
    endpoint: EndpointConfig = EndpointConfig()
    partial_interval_s: NonNegative = 0.3
    mute_tail_s: NonNegative = 0.3
    language_choice: ChoiceConfig = ChoiceConfig()
    grammars: dict[str, dict[Language, list[str]]] = {}   # mode -> language -> phrases


def load_asr_config(path: str | Path | None = None) -> AsrConfig:
    """The config from `path`, else the package's config/asr.yaml, else built-in defaults;
    ConfigError naming the file and the field when it cannot be used."""
    if path is None:
        try:
            path = config_path('asr.yaml')
        except FileNotFoundError:
            return AsrConfig()
        if not Path(path).is_file():
            return AsrConfig()
    return load_config(AsrConfig, path)

