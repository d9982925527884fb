"""Scenario files: who walks up to the simulated entrance, when, how close, in which language, saying what."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from caexpo_robot.language import LANGUAGES
from caexpo_robot.paths import config_path

BUILTIN_PHOTOS = ('astronaut',)


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the file and the field."""


@dataclass(frozen=True)
class VisitorInput:
    at: float          # sim time (s) the visitor starts speaking or typing
    text: str
    via: str           # 'speech' (synthesized in the visitor's language, heard by asr) or 'kiosk' (typed)
    wav: str | None = None   # a recording to play instead of synthesizing `text`


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
        for (t0, d0, x0), (t1, d1, x1) in zip(path, path[1:]):
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
    source: str = ''


def default_scenario_path() -> Path:
    return config_path('scenarios', 'entrance_default.yaml')


def _voice_kind(language: str) -> str:
    from caexpo_robot.speaking.voices import VoiceTable   # only needed for visitors who speak
    return VoiceTable.load().voice_kind(language)


def _number(value, where: str, low: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f'{where}: expected a number, got {value!r}')
    if low is not None and value < low:
        raise ScenarioError(f'{where}: must be ≥ {low}, got {value}')
    return float(value)


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
    camera = data.get('camera', {}) or {}
    visitors = []
    for i, entry in enumerate(data.get('visitors', []) or []):
        visitors.append(_visitor(entry, f'{where}: visitors[{i}]', path.parent))
    names = [v.name for v in visitors]
    if len(set(names)) != len(names):
        raise ScenarioError(f'{where}: visitor names must be unique, got {names}')
    video = data.get('video')
    if video is not None:
        video_path = Path(video) if Path(video).is_absolute() else path.parent / video
        if not video_path.is_file():
            raise ScenarioError(f'{where}: video file not found: {video_path}')
        video = str(video_path)
    return Scenario(
        name=str(data.get('name', path.stem)),
        duration_s=_number(data.get('duration_s', 30), f'{where}: duration_s', 0.1),
        fps=min(_number(data.get('fps', 15), f'{where}: fps', 1), 50.0),   # the sim clock ticks at 50 Hz
        width=int(_number(camera.get('width', 640), f'{where}: camera.width', 16)),
        height=int(_number(camera.get('height', 480), f'{where}: camera.height', 16)),
        hfov_deg=_number(camera.get('hfov_deg', 60.0), f'{where}: camera.hfov_deg', 1),
        visitors=tuple(visitors), robot=dict(data.get('robot', {}) or {}),
        assistant=str(data.get('assistant', 'embedded')), video=video, source=str(path))


def _visitor(entry, where: str, base: Path) -> VisitorPlan:
    if not isinstance(entry, dict):
        raise ScenarioError(f'{where}: expected a mapping')
    name = str(entry.get('name') or '')
    if not name:
        raise ScenarioError(f'{where}: needs a name')
    language = entry.get('language', 'en')
    if language not in LANGUAGES:
        raise ScenarioError(f'{where}: unknown language {language!r}; known: {" ".join(LANGUAGES)}')
    photo = str(entry.get('photo', 'astronaut'))
    if photo not in BUILTIN_PHOTOS:
        photo_path = Path(photo) if Path(photo).is_absolute() else base / photo
        if not photo_path.is_file():
            raise ScenarioError(f'{where}: photo {photo!r} is neither built in ({BUILTIN_PHOTOS}) nor a file')
        photo = str(photo_path)
    default_x = _number(entry.get('x', 0.5), f'{where}: x')
    path = []
    for k, point in enumerate(entry.get('path') or []):
        if not isinstance(point, (list, tuple)) or len(point) not in (2, 3):
            raise ScenarioError(f'{where}: path[{k}] must be [t, distance_m] or [t, distance_m, x]')
        t = _number(point[0], f'{where}: path[{k}] time', 0)
        distance = _number(point[1], f'{where}: path[{k}] distance', 0.3)
        x = _number(point[2], f'{where}: path[{k}] x') if len(point) == 3 else default_x
        if path and t < path[-1][0]:
            raise ScenarioError(f'{where}: path times must not go backwards')
        path.append((t, distance, x))
    if len(path) < 2:
        raise ScenarioError(f'{where}: path needs at least two [t, distance_m] points')
    says = []
    for k, item in enumerate(entry.get('says') or []):
        if not isinstance(item, dict) or 'at' not in item or not (item.get('text') or item.get('wav')):
            raise ScenarioError(f'{where}: says[{k}] needs `at` and `text` (or `wav`)')
        via = item.get('via', 'speech')
        if via not in ('speech', 'kiosk'):
            raise ScenarioError(f'{where}: says[{k}].via must be speech or kiosk, got {via!r}')
        wav = item.get('wav')
        if wav is not None:
            wav_path = Path(wav) if Path(wav).is_absolute() else base / wav
            if not wav_path.is_file():
                raise ScenarioError(f'{where}: says[{k}].wav not found: {wav_path}')
            wav = str(wav_path)
        if via == 'speech' and wav is None and _voice_kind(language) == 'screen_only':
            raise ScenarioError(f'{where}: says[{k}]: no voice speaks {language}; give a wav or use via: kiosk')
        says.append(VisitorInput(_number(item['at'], f'{where}: says[{k}].at', 0), str(item.get('text', '')), via,
                              wav))
    tint = entry.get('tint', [1.0, 1.0, 1.0])
    if not (isinstance(tint, (list, tuple)) and len(tint) == 3):
        raise ScenarioError(f'{where}: tint must be [r, g, b] factors')
    return VisitorPlan(name=name, photo=photo, language=language, path=tuple(path),
                       mirror=bool(entry.get('mirror', False)),
                       tint=tuple(_number(c, f'{where}: tint', 0) for c in tint),
                       says=tuple(sorted(says, key=lambda u: u.at)))
