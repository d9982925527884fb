"""Scenario files: who walks up to the simulated entrance, when, how close, in which language, saying what."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import AfterValidator, ConfigDict, Field, StrictFloat, model_validator
from pydantic_core import PydanticCustomError

from caexpo_robot.config_files import ConfigError, ConfigModel, validate_config
from caexpo_robot.language import LANGUAGES
from caexpo_robot.paths import config_path

BUILTIN_PHOTOS = ('astronaut',)


class ScenarioError(ConfigError):
    """A scenario file that cannot be run; the message names the file and the field."""


@dataclass(frozen=True)
class VisitorInput:
    at: float          # sim time (s) the visitor starts speaking or typing
    text: str
    via: str           # 'speech' (synthesized in the visitor's language, heard by asr), 'kiosk' (typed) or
    #                    'tap' (on the screen: `text` is a language code, or a quick-question key like quick_toilets)
    wav: str | None = None   # a recording to play instead of synthesizing `text`
    assistant_latency_s: float | None = None   # the backend's latency for the question this asks


@dataclass(frozen=True)
class VisitorPlan:
    name: str
    photo: str                              # builtin name or image path
    language: str
    path: tuple[tuple[float, float, float], ...]   # (t, distance_m, x) keyframes
    mirror: bool = False
    tint: tuple[float, float, float] = (1.0, 1.0, 1.0)
    says: tuple[VisitorInput, ...] = ()

    def at(self, t: float) -> tuple[float, float] | None:
        """(distance_m, x) at sim time t by linear interpolation, None when not in the scene."""
        path = self.path
        if t < path[0][0] or t > path[-1][0]:
            return None
        for (t0, d0, x0), (t1, d1, x1) in itertools.pairwise(path):
            if t0 <= t <= t1:
                k = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                return d0 + k * (d1 - d0), x0 + k * (x1 - x0)
        return path[-1][1], path[-1][2]


@dataclass(frozen=True)
class Scenario:
    name: str
    duration_s: float
    fps: float
    width: int
    height: int
    hfov_deg: float
    visitors: tuple[VisitorPlan, ...]
    robot: dict = field(default_factory=dict)     # {node: {param: value}} over config/greeter.yaml
    assistant: str = 'embedded'                   # 'embedded', 'none', or a backend URL
    video: str | None = None                      # play a video file instead of rendering visitors
    assistant_latency_s: float = 0.0              # the backend's answer time, on the sim clock
    noise_dbfs: float = -60.0                     # the hall's steady noise in the robot's microphone
    source: str = ''


def default_scenario_path() -> Path:
    return config_path('scenarios', 'entrance_default.yaml')


def _voice_kind(language: str) -> str:
    from caexpo_robot.speaking.voices import VoiceTable  # only needed for visitors who speak
    return VoiceTable.load().voice_kind(language)


# --- the file's shape: pydantic models, unknown keys refused (config_files.ConfigModel) --------------
def _at_least(low: float):
    def check(value: float) -> float:
        if value < low:
            raise PydanticCustomError('too_small', 'must be ≥ {low}, got {value}', {'low': low, 'value': value})
        return value
    return AfterValidator(check)


# A number is an int or a float, never a boolean or a string (strict), as before pydantic.
Number = StrictFloat


def _known_language(value: str) -> str:
    if value not in LANGUAGES:
        raise PydanticCustomError('language', 'unknown language {value!r}; known: {known}',
                                  {'value': value, 'known': ' '.join(LANGUAGES)})
    return value


def _speech_kiosk_or_tap(value: str) -> str:
    if value not in ('speech', 'kiosk', 'tap'):
        raise PydanticCustomError('via', 'must be speech, kiosk or tap, got {value!r}', {'value': value})
    return value


def quick_question_keys() -> list[str]:
    """The screen's quick-question buttons: the phrasebook's quick_* keys."""
    from caexpo_robot.language.phrasebook import Phrasebook
    return [key for key in Phrasebook.load().keys() if key.startswith('quick_')]


class _FileModel(ConfigModel):
    # Numbers where a name or text is expected are taken as written (`name: 42`), as before pydantic.
    model_config = ConfigDict(coerce_numbers_to_str=True)

    @model_validator(mode='before')
    @classmethod
    def _empty_means_default(cls, data: Any) -> Any:
        """`says:` or `camera:` with nothing after it is the default, as YAML writers expect."""
        return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class CameraFile(_FileModel):
    width: Annotated[Number, _at_least(16)] = 640
    height: Annotated[Number, _at_least(16)] = 480
    hfov_deg: Annotated[Number, _at_least(1)] = 60.0


class VisitorInputFile(_FileModel):
    at: Annotated[Number, _at_least(0)] | None = None
    text: str = ''
    via: Annotated[str, AfterValidator(_speech_kiosk_or_tap)] = 'speech'
    wav: str | None = None
    assistant_latency_s: Annotated[Number, _at_least(0)] | None = None

    @model_validator(mode='after')
    def _says_something(self) -> 'VisitorInputFile':
        if self.at is None or not (self.text or self.wav):
            raise PydanticCustomError('says', 'needs `at` and `text` (or `wav`)')
        if self.via == 'tap' and self.text not in LANGUAGES:
            quick = quick_question_keys()
            if self.wav or self.text not in quick:
                raise PydanticCustomError('tap', 'via: tap needs `text` a language code ({languages}) or a quick '
                                          'question ({quick}), got {value!r}',
                                          {'languages': ' '.join(LANGUAGES), 'quick': ' '.join(quick),
                                           'value': self.text})
        return self


PathPoint = Annotated[list[Number], Field(min_length=2, max_length=3)]


class VisitorFile(_FileModel):
    name: Annotated[str, Field(min_length=1)]
    photo: str = 'astronaut'
    language: Annotated[str, AfterValidator(_known_language)] = 'en'
    x: Number = 0.5
    path: list[PathPoint] = []       # [t, distance_m] or [t, distance_m, x]
    mirror: bool = False
    tint: Annotated[list[Annotated[Number, _at_least(0)]], Field(min_length=3, max_length=3)] = [1.0, 1.0, 1.0]
    says: list[VisitorInputFile] = []

    @model_validator(mode='after')
    def _path_goes_forward(self) -> 'VisitorFile':
        for k, point in enumerate(self.path):
            if point[0] < 0:
                raise PydanticCustomError('path', 'path[{k}] time must be ≥ 0, got {t}', {'k': k, 't': point[0]})
            if point[1] < 0.3:
                raise PydanticCustomError('path', 'path[{k}] distance must be ≥ 0.3, got {d}',
                                          {'k': k, 'd': point[1]})
            if k and point[0] < self.path[k - 1][0]:
                raise PydanticCustomError('path', 'path times must not go backwards')
        if len(self.path) < 2:
            raise PydanticCustomError('path', 'path needs at least two [t, distance_m] points')
        return self


class ScenarioFile(_FileModel):
    name: str | None = None                              # default: the file's stem
    duration_s: Annotated[Number, _at_least(0.1)] = 30.0
    fps: Annotated[Number, _at_least(1)] = 15.0
    camera: CameraFile = CameraFile()
    assistant: str = 'embedded'
    assistant_latency_s: Annotated[Number, _at_least(0)] = 0.0
    noise_dbfs: Annotated[Number, _at_least(-120)] = -60.0   # steady hall noise in the microphone
    robot: dict[str, dict[str, Any] | None] = {}         # checked against the nodes' declared parameters
    video: str | None = None
    visitors: list[VisitorFile] = []


def load_scenario(path: str | Path | None = None) -> Scenario:
    path = Path(path) if path else default_scenario_path()
    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8'))
    except OSError as exc:
        raise ScenarioError(f'cannot read scenario {path}: {exc.strerror or exc}') from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f'{path}: not valid YAML: {exc}') from None
    if not isinstance(data, dict):
        raise ScenarioError(f'{path}: expected a mapping at the top level')
    where = str(path)
    try:
        scenario = validate_config(ScenarioFile, data, where)
        robot = {node: dict(values or {}) for node, values in scenario.robot.items()}
        if robot:
            from caexpo_robot.graph import validate_overrides  # imports the node classes: only if needed
            validate_overrides(robot, where, 'robot')
    except ConfigError as exc:
        raise ScenarioError(str(exc)) from None
    visitors = [_visitor(entry, f'{where}: visitors[{i}]', path.parent) for i, entry in enumerate(scenario.visitors)]
    names = [v.name for v in visitors]
    if len(set(names)) != len(names):
        raise ScenarioError(f'{where}: visitor names must be unique, got {names}')
    video = scenario.video
    if video is not None:
        video_path = Path(video) if Path(video).is_absolute() else path.parent / video
        if not video_path.is_file():
            raise ScenarioError(f'{where}: video file not found: {video_path}')
        video = str(video_path)
    return Scenario(
        name=scenario.name if scenario.name is not None else path.stem,
        duration_s=scenario.duration_s,
        fps=min(scenario.fps, 50.0),   # the sim clock ticks at 50 Hz
        width=int(scenario.camera.width), height=int(scenario.camera.height), hfov_deg=scenario.camera.hfov_deg,
        visitors=tuple(visitors), robot=robot,
        assistant=scenario.assistant, assistant_latency_s=scenario.assistant_latency_s, video=video,
        noise_dbfs=min(scenario.noise_dbfs, 0.0),
        source=str(path))


def _visitor(entry: VisitorFile, where: str, base: Path) -> VisitorPlan:
    """The checks that need the file's folder or the voice table, on an already well-formed visitor."""
    photo = entry.photo
    if photo not in BUILTIN_PHOTOS:
        photo_path = Path(photo) if Path(photo).is_absolute() else base / photo
        if not photo_path.is_file():
            raise ScenarioError(f'{where}: photo {photo!r} is neither built in ({BUILTIN_PHOTOS}) nor a file')
        photo = str(photo_path)
    path = tuple((t, distance, rest[0] if rest else entry.x) for t, distance, *rest in entry.path)
    says = []
    for k, item in enumerate(entry.says):
        wav = item.wav
        if wav is not None:
            wav_path = Path(wav) if Path(wav).is_absolute() else base / wav
            if not wav_path.is_file():
                raise ScenarioError(f'{where}: says[{k}].wav not found: {wav_path}')
            wav = str(wav_path)
        if item.via == 'speech' and wav is None and _voice_kind(entry.language) == 'screen_only':
            raise ScenarioError(f'{where}: says[{k}]: no voice speaks {entry.language}; give a wav or use via: kiosk')
        says.append(VisitorInput(item.at, item.text, item.via, wav, item.assistant_latency_s))
    return VisitorPlan(name=entry.name, photo=photo, language=entry.language, path=path, mirror=entry.mirror,
                       tint=tuple(entry.tint), says=tuple(sorted(says, key=lambda u: u.at)))
