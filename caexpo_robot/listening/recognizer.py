"""Streaming multi-language speech recognition with Vosk.

`AsrEngine.process(chunk, t)` is the whole listening pipeline for one microphone:
validate chunk → mute gate (robot speaking) → energy endpointing → the recognizers of the
languages the chooser wants (only inside an utterance; silence never reaches Vosk) → partial
results while speaking, one `Utterance` with the chosen language when it ends.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from caexpo_robot.listening.audio import SAMPLE_RATE, SAMPLE_WIDTH, ChunkValidator, rms_dbfs
from caexpo_robot.listening.config import AsrConfig
from caexpo_robot.listening.endpoint import END, IDLE, START, MuteGate, UtteranceSegmenter
from caexpo_robot.listening.hypothesis import UNKNOWN_WORD, Hypothesis, Word, join_hypotheses, words_from_vosk
from caexpo_robot.listening.language_choice import LanguageChooser, LanguageDecision, TextLid, default_text_lid
from caexpo_robot.listening.models import model_status

DEFAULT_LID = object()  # sentinel: use caexpo_robot.language.langid (None: no text LID at all)
_MODEL_CACHE: dict[str, object] = {}
_MODEL_CACHE_LOCK = threading.Lock()


def load_vosk_model(path: str | Path, cache: bool = True):
    """A vosk.Model for the folder; shared per resolved path when `cache` (a model is read-only
    and may serve any number of recognizers). Raises RuntimeError with Vosk's reason."""
    import vosk
    vosk.SetLogLevel(-1)
    key = str(Path(path).resolve())
    with _MODEL_CACHE_LOCK:
        if cache and key in _MODEL_CACHE:
            return _MODEL_CACHE[key]
        try:
            model = vosk.Model(key)
        except Exception as exc:  # vosk raises a bare Exception
            raise RuntimeError(f'Vosk failed to load {key}: {exc}') from exc
        if cache:
            _MODEL_CACHE[key] = model
        return model


@dataclass(frozen=True)
class RecognizerStatus:
    language: str
    state: str  # 'loaded' | 'missing' | 'corrupt'
    path: Path | None
    detail: str
    load_s: float = 0.0


class LanguageRecognizer:
    """One Vosk recognizer for one language, free or in a named grammar mode."""

    def __init__(self, language: str, model,
                 grammars: Mapping[str, Sequence[str]] | None = None) -> None:
        self.language = language
        self.model = model
        self.grammars = {k: list(v) for k, v in (grammars or {}).items()}
        self.mode: str | None = None
        self.rejected_phrases: dict[str, list[str]] = {}  # per mode: phrases with unknown words
        self._segments: list[Hypothesis] = []
        self._last_partial = ''
        self._fed = False
        self._phrases: list[str] | None = None
        self._recognizer = self._build(None)

    def _build(self, phrases: list[str] | None):
        import vosk
        if phrases is None:
            recognizer = vosk.KaldiRecognizer(self.model, SAMPLE_RATE)
        else:
            recognizer = vosk.KaldiRecognizer(self.model, SAMPLE_RATE,
                                              json.dumps(phrases, ensure_ascii=False))
        recognizer.SetWords(True)
        recognizer.SetPartialWords(True)
        return recognizer

    def grammar_phrases(self, mode: str) -> list[str]:
        """The mode's phrases whose words all exist in the model, plus '[unk]' if it has one.

        Vosk silently drops out-of-vocabulary words from a grammar (only a log warning), which
        would turn 'meeting room' into 'room'; such phrases are left out and listed in
        rejected_phrases[mode] instead.
        """
        if mode not in self.grammars:
            raise KeyError(f'no grammar {mode!r} for {self.language}; have: '
                           f'{", ".join(sorted(self.grammars)) or "none"}')
        kept, rejected = [], []
        for phrase in self.grammars[mode]:
            words = phrase.split()
            if words and all(self.model.vosk_model_find_word(w) >= 0 for w in words):
                kept.append(' '.join(words))
            else:
                rejected.append(phrase)
        self.rejected_phrases[mode] = rejected
        if not kept:
            raise ValueError(f'grammar {mode!r} for {self.language}: no phrase is in the '
                             f'model vocabulary ({", ".join(rejected)})')
        if self.model.vosk_model_find_word(UNKNOWN_WORD) >= 0:
            kept.append(UNKNOWN_WORD)
        return kept

    def set_mode(self, mode: str | None) -> None:
        """Free recognition (None) or a grammar mode; drops any utterance in progress."""
        phrases = None if mode is None else self.grammar_phrases(mode)
        self._recognizer = self._build(phrases)
        self._phrases = phrases
        self.mode = mode
        self._segments.clear()
        self._last_partial = ''
        self._fed = False

    def restart(self) -> None:
        """A recognizer as new: unlike reset(), also forgets Vosk's speaker adaptation (online
        i-vector/CMVN state survives KaldiRecognizer.Reset and measurably changes the next
        result). Costs ~0.1 s in free mode, so only done when audio was fed since."""
        if self._fed:
            self._recognizer = self._build(self._phrases)
            self._fed = False
        self._segments.clear()
        self._last_partial = ''

    def accept(self, data: bytes) -> None:
        self._fed = True
        if self._recognizer.AcceptWaveform(data):
            # Vosk's own endpoint fired inside our utterance: keep the segment, go on.
            self._segments.append(self._parse(self._recognizer.Result()))

    def partial(self) -> Hypothesis | None:
        """The current partial hypothesis if it changed since the last call."""
        raw = json.loads(self._recognizer.PartialResult())
        text = raw.get('partial', '')
        if text == self._last_partial:
            return None
        self._last_partial = text
        done = join_hypotheses(self.language, self._segments)
        current = Hypothesis(self.language, text, words_from_vosk(raw.get('partial_result')))
        return join_hypotheses(self.language, [done, current])

    def finish(self) -> Hypothesis:
        """The utterance's final hypothesis; the recognizer is clean afterwards."""
        self._segments.append(self._parse(self._recognizer.FinalResult()))
        result = join_hypotheses(self.language, self._segments)
        self.reset()
        return result

    def reset(self) -> None:
        self._recognizer.Reset()
        self._segments.clear()
        self._last_partial = ''

    def _parse(self, raw_json: str) -> Hypothesis:
        raw = json.loads(raw_json)
        return Hypothesis(self.language, raw.get('text', ''), words_from_vosk(raw.get('result')))


@dataclass(frozen=True)
class Partial:
    language: str
    text: str
    words: tuple[Word, ...]
    t: float


@dataclass(frozen=True)
class Utterance:
    language: str  # the visitor's language after this utterance
    text: str  # that language's transcript
    words: tuple[Word, ...]
    confidence: float  # mean word confidence of `text`
    start_t: float
    end_t: float
    end_reason: str  # 'silence' | 'max_length' | 'flush'
    decision: LanguageDecision
    hypotheses: dict[str, Hypothesis] = field(default_factory=dict)


class AsrEngine:
    """Every loaded language's recognizer, the language chooser, the mute gate and endpointing.

    Not thread-safe: call process/set_speaking/new_visitor/set_grammar from one thread (the
    ROS node's executor thread).
    """

    def __init__(self, config: AsrConfig | None = None, text_lid: TextLid | None | object = DEFAULT_LID,
                 preloaded: Mapping[str, object] | None = None) -> None:
        self.config = config or AsrConfig()
        self.statuses: dict[str, RecognizerStatus] = {}
        self.recognizers: dict[str, LanguageRecognizer] = {}
        grammars_by_language: dict[str, dict[str, list[str]]] = {}
        for mode, per_language in self.config.grammars.items():
            for language, phrases in per_language.items():
                grammars_by_language.setdefault(language, {})[mode] = phrases
        for language in self.config.languages:
            self._load(language, (preloaded or {}).get(language),
                       grammars_by_language.get(language, {}))
        lid = default_text_lid(tuple(self.recognizers)) if text_lid is DEFAULT_LID else text_lid
        self.chooser = LanguageChooser(tuple(self.recognizers), self.config.language_choice, lid)
        self.gate = MuteGate(self.config.mute_tail_s)
        self.segmenter = UtteranceSegmenter(self.config.endpoint)
        self.validator = ChunkValidator()
        self.counters: Counter = Counter()
        self._preroll: deque[bytes] = deque()
        self._preroll_s = 0.0
        self._active: tuple[str, ...] = ()
        self._utterance_start = 0.0
        self._last_partial_t: dict[str, float] = {}
        self._muted = False
        self.grammar_errors: dict[str, str] = {}

    def _load(self, language: str, model, grammars: dict[str, list[str]]) -> None:
        started = time.monotonic()
        path, where = None, 'preloaded model'
        if model is None:
            status = model_status(language, self.config.models)
            path, where = status.path, status.detail
            if status.state in ('not_installed', 'none_exists'):
                self.statuses[language] = RecognizerStatus(language, 'missing', None, status.detail)
                return
            if status.state == 'corrupt':
                self.statuses[language] = RecognizerStatus(language, 'corrupt', path, status.detail)
                return
            try:
                model = load_vosk_model(path)
            except RuntimeError as exc:
                self.statuses[language] = RecognizerStatus(language, 'corrupt', path, str(exc))
                return
        try:
            recognizer = LanguageRecognizer(language, model, grammars)
        except Exception as exc:  # a graph that fails to load only shows when building one
            self.statuses[language] = RecognizerStatus(
                language, 'corrupt', path, f'Vosk cannot build a recognizer: {exc}')
            return
        self.recognizers[language] = recognizer
        self.statuses[language] = RecognizerStatus(language, 'loaded', path, where,
                                                   time.monotonic() - started)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with a working recognizer."""
        return tuple(self.recognizers)

    # --- controls -------------------------------------------------------------------------
    def set_speaking(self, speaking: bool, t: float) -> None:
        """The TTS 'speaking' flag; audio is discarded while set and mute_tail_s after."""
        self.gate.set_speaking(speaking, t)

    def new_visitor(self) -> None:
        """Forget the locked language, anything heard so far and the speaker adaptation."""
        self.chooser.reset()
        self._abandon(restart=True)

    def set_grammar(self, mode: str | None, languages: Sequence[str] | None = None
                    ) -> dict[str, list[str]]:
        """Switch recognizers to a grammar mode (None = free); the phrases each one rejected.

        Languages without that mode in the config, or none of whose phrases are in their
        model's vocabulary (reason in grammar_errors), listen freely. Drops an utterance in
        progress.
        """
        self._abandon()
        rejected = {}
        for language in languages or self.languages:
            recognizer = self.recognizers.get(language)
            if recognizer is None:
                continue
            if mode is not None and mode not in recognizer.grammars:
                recognizer.set_mode(None)
                continue
            try:
                recognizer.set_mode(mode)
            except ValueError as exc:  # no usable phrase: this language listens freely
                self.grammar_errors[language] = str(exc)
                recognizer.set_mode(None)
                rejected[language] = list(recognizer.grammars[mode])
                continue
            self.grammar_errors.pop(language, None)
            if mode is not None:
                rejected[language] = recognizer.rejected_phrases[mode]
        return rejected

    # --- audio ----------------------------------------------------------------------------
    def process(self, data: bytes, t: float, sample_rate: int = SAMPLE_RATE
                ) -> list[Partial | Utterance]:
        """Feed one chunk captured at time t (seconds); the results it produced."""
        samples = self.validator.validate(data, sample_rate)
        if samples is None:
            return []
        if not self.gate.admits(t):
            if not self._muted:
                self._muted = True
                if self.segmenter.in_utterance:
                    self.counters['utterances_cut_by_mute'] += 1
                self._abandon(restart=True)  # while the robot talks: clean start afterwards
            self.counters['muted_chunks'] += 1
            return []
        self._muted = False
        duration = samples.size / SAMPLE_RATE
        pcm = samples.tobytes()
        step = self.segmenter.push(rms_dbfs(samples), duration)
        if step.state == IDLE:
            self._remember(pcm, duration)
            self.counters['idle_chunks'] += 1
            return []
        if step.state == START:
            self._remember(pcm, duration)
            self._active = tuple(code for code in self.chooser.wanted_languages() if code in self.recognizers)
            self._utterance_start = t - self._preroll_s + duration
            for recognizer in self._active_recognizers():
                for block in self._preroll:
                    recognizer.accept(block)
            self._preroll.clear()
            self._preroll_s = 0.0
            self._last_partial_t = {}
            self.counters['utterances_started'] += 1
            return self._partials(t + duration)
        for recognizer in self._active_recognizers():
            recognizer.accept(pcm)
        if step.state == END:
            return self._finish(t + duration, step.reason)
        return self._partials(t + duration)

    def flush(self, t: float) -> list[Utterance]:
        """End of stream: close an utterance in progress."""
        if not self.segmenter.in_utterance:
            return []
        self.segmenter.reset()
        return self._finish(t, 'flush')

    def stats(self) -> dict:
        return {**self.validator.stats(), **dict(self.counters),
                'noise_floor_dbfs': round(self.segmenter.noise_floor, 1),
                'locked_language': self.chooser.locked}

    # --- internals ------------------------------------------------------------------------
    def _active_recognizers(self):
        return [self.recognizers[code] for code in self._active]

    def _remember(self, pcm: bytes, duration: float) -> None:
        self._preroll.append(pcm)
        self._preroll_s += duration
        keep = max(self.config.endpoint.preroll_ms, self.config.endpoint.start_speech_ms + 100)
        while self._preroll and self._preroll_s - len(self._preroll[0]) / (
                SAMPLE_RATE * SAMPLE_WIDTH) >= keep / 1000.0:
            self._preroll_s -= len(self._preroll.popleft()) / (SAMPLE_RATE * SAMPLE_WIDTH)

    def _abandon(self, restart: bool = False) -> None:
        for recognizer in self.recognizers.values():
            if restart:
                recognizer.restart()
            else:
                recognizer.reset()
        self.segmenter.reset()
        self._preroll.clear()
        self._preroll_s = 0.0
        self._active = ()

    def _partials(self, t: float) -> list[Partial]:
        events = []
        for recognizer in self._active_recognizers():
            last = self._last_partial_t.get(recognizer.language)
            if last is not None and t - last < self.config.partial_interval_s:
                continue
            self._last_partial_t[recognizer.language] = t
            hypothesis = recognizer.partial()
            if hypothesis is not None and not hypothesis.empty:
                events.append(Partial(recognizer.language, hypothesis.text, hypothesis.words, t))
        return events

    def _finish(self, t: float, reason: str) -> list[Utterance]:
        hypotheses = {r.language: r.finish() for r in self._active_recognizers()}
        self._active = ()
        if all(h.empty for h in hypotheses.values()):
            self.counters['empty_utterances'] += 1
            return []
        decision = self.chooser.decide(hypotheses.values())
        language = decision.language if decision.language in hypotheses else decision.best
        if language not in hypotheses:  # no usable evidence: the most confident non-empty one
            language = max((h for h in hypotheses.values() if not h.empty),
                           key=lambda h: h.mean_confidence).language
        chosen = hypotheses[language]
        self.counters['utterances'] += 1
        return [Utterance(language, chosen.text, chosen.words, round(chosen.mean_confidence, 4),
                          self._utterance_start, t, reason, decision, hypotheses)]
