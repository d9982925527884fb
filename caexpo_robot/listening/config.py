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


Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class VadConfig(ConfigModel, frozen=True):
    """How utterances are found (asr.yaml `vad:`); the energy thresholds stay in `endpoint:`."""
    mode: Literal['energy', 'silero', 'combined'] = 'combined'
    threshold: Probability = 0.5        # a frame is speech at or above this probability...
    neg_threshold: Probability = 0.35   # ...and silence below this one (in between: no change)
    start_speech_ms: Annotated[int, Field(ge=0)] = 96   # speech needed to open (leaky, like the energy one)
    end_silence_s: Annotated[float, Field(gt=0.0)] = 0.5
    max_utterance_s: float = 12.0
    combined_margin_db: float = 6.0     # combined: dB over the energy noise floor a frame needs to open
    combined_end: Literal['vad', 'vad_or_energy'] = 'vad'   # combined: silence = VAD silence [or energy quiet]
    combined_end_vosk: Literal['vad', 'vad_or_energy'] = 'vad_or_energy'   # the same, utterances only Vosk hears
    model: str | None = None            # path of a silero_vad .onnx; None: the one faster-whisper ships

    @model_validator(mode='after')
    def _consistent(self) -> VadConfig:
        if self.neg_threshold > self.threshold:
            raise ValueError('need neg_threshold <= threshold')
        if self.max_utterance_s <= self.end_silence_s:
            raise ValueError('need end_silence_s < max_utterance_s')
        return self


class ChoiceConfig(ConfigModel, frozen=True):
    lid_weight: Annotated[float, Field(ge=0.0, le=1.0)] = 0.4
    spoken_weight: Annotated[float, Field(ge=0.0, le=1.0)] = 0.9   # weight of Whisper's spoken-language ID
    opener_prior: Annotated[float, Field(ge=1.0, le=100.0)] = 2.0   # opener languages: this much likelier
    lock_probability: Annotated[float, Field(gt=0.0, le=1.0)] = 0.7   # Whisper this sure of the best: lock
    min_probability: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05   # a Vosk hypothesis needs this spoken ID
    switch_probability: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8   # locked: another language this sure
                                                                        # is transcribed too (evidence to switch)
    min_lock_score: float = 0.45
    strong_score: float = 0.6
    switch_margin: float = 0.15
    switch_after: Annotated[int, Field(ge=1)] = 2
    doubt_score: float = 0.35
    listen_all_when_locked: bool = False


Engine = Literal['vosk', 'whisper']
UNTRUSTED_BY_DEFAULT = {'my': 1.0, 'km': 1.0, 'lo': 1.0}   # Whisper base: not measured on real voices


class WhisperConfig(ConfigModel, frozen=True):
    model_dir: str | None = None          # None: the assembled whisper-base in the models directory
    cpu_threads: Annotated[int, Field(ge=1, le=64)] = 2
    beam_size: Annotated[int, Field(ge=1, le=10)] = 5
    context_s: Annotated[float, Field(ge=5.0, le=30.0)] = 15.0   # encoder window (30 = Whisper's own)
    pause_decode_s: Annotated[float, Field(gt=0.0)] = 0.3   # decode at a pause this long; the endpoint confirms
    early_language_id_s: NonNegative = 2.0   # a new visitor's language identified once the utterance is this long
                                             #   (while they speak); 0 = only at the pause
    warm_up: bool = True                  # load and decode once at start (the first visitor waits otherwise)


class DuplexConfig(ConfigModel, frozen=True):
    """Listening while the robot speaks."""
    mode: Literal['cancel', 'mute'] = 'cancel'
    output_latency_s: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0   # speaker delay after the tts timestamp
    filter_ms: Annotated[int, Field(ge=20, le=1000)] = 250   # echo canceller tail (room echo it can remove)
    barge_in_onset_ms: Annotated[float, Field(gt=0.0, le=1000.0)] = 100.0   # visitor speech that stops the robot
    barge_in_threshold: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.6   # Silero probability of that speech
    echo_tail_s: NonNegative = 0.3        # after the robot stops, only a barge-in opens an utterance this long


class AsrConfig(ConfigModel, frozen=True):
    languages: tuple[Language, ...] = LANGUAGES
    engines: dict[Language, Engine] = {'ko': 'vosk'}   # per language; not listed: whisper
    models: dict[Language, str | None] = {}           # a Vosk model folder per language; None: search for it
    vosk_cache_mib: Annotated[int, Field(ge=0)] = 100  # growth that rebuilds free Vosk recognizers; 0 = never
    whisper: WhisperConfig = WhisperConfig()
    # Per language: a Whisper transcript whose mean word probability is below this is not trusted (the
    # robot offers the screen in that language); 1.0 = never trusted. Not listed: 0.0 (always trusted).
    trust: dict[Language, Annotated[float, Field(ge=0.0, le=1.0)]] = UNTRUSTED_BY_DEFAULT
    endpoint: EndpointConfig = EndpointConfig()
    partial_interval_s: NonNegative = 0.3
    mute_tail_s: NonNegative = 0.3
    language_choice: ChoiceConfig = ChoiceConfig()
    grammars: dict[str, dict[Language, list[str]]] = {}   # mode -> language -> phrases
    vad: VadConfig = VadConfig()
    duplex: DuplexConfig = DuplexConfig()

    def engine(self, language: str) -> str:
        """The engine configured for `language` (a Vosk language without its model falls back at load)."""
        return self.engines.get(language, 'whisper')

    def ever_trusted(self, language: str) -> bool:
        """Whether any transcript in `language` can be trusted (threshold 1.0 = never: the screen is offered)."""
        return self.trust.get(language, 0.0) < 1.0

    def trusted(self, language: str, confidence: float) -> bool:
        return self.ever_trusted(language) and confidence >= self.trust.get(language, 0.0)


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

