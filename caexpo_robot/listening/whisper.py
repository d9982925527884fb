"""Whisper (faster-whisper, CTranslate2 int8 on CPU): one multilingual recognizer for every language,
and spoken language identification restricted to the robot's languages.

Pure: no ROS. A WhisperRecognizer decodes whole utterances (the project's endpointer decides where
they start and end, so no VAD filter runs inside). One WhisperModel per (folder, threads, compute
type) is loaded lazily and shared by every recognizer of the process; decoding is serialised by a
lock per model, so recognizers can be called from any thread (the asr node decodes off its
executor thread).

    recognizer = WhisperRecognizer()            # nothing loaded yet
    recognizer.warm_up()                        # load + decode 1 s of silence (first decode is slow)
    hyp = recognizer.transcribe(pcm16)          # language detected among LANGUAGES
    hyp.text, hyp.language, hyp.language_probability, [w.conf for w in hyp.words]
    recognizer.detect_language(pcm16, ('en', 'zh'))   # [('en', 0.97), ('zh', 0.03)]
    recognizer.detect_language(pcm16, priors={'vi': 2.0, 'zh': 2.0, 'en': 2.0})   # opener languages x2
"""
from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.listening.hypothesis import Hypothesis, Word
from caexpo_robot.listening.models import DEFAULT_WHISPER, ModelError, whisper_status

SAMPLE_RATE = 16000  # what Whisper hears; other rates are resampled
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000
DEFAULT_CPU_THREADS = 2
DEFAULT_BEAM_SIZE = 5  # beam 1 is ~1.7x faster but reads 'one zero zero zero one' as '1,001' (bench_whisper.py)
# Our codes -> Whisper's. Whisper calls Filipino (Tagalog) 'tl'; the others are the same.
WHISPER_CODES = {code: ('tl' if code == 'fil' else code) for code in LANGUAGES}
OUR_CODES = {whisper: ours for ours, whisper in WHISPER_CODES.items()}
# Token budget per utterance. Whisper can fall into a repetition loop (seen on synthetic Burmese,
# Chinese and Filipino: 'คุณคุณคุณ...' with word probabilities ~0.9) and then decodes its full 224
# tokens: ~10 s on 2 cores. Real speech needs far fewer: the phrasebook's sentences spoken by
# espeak-ng at ~150 wpm tokenize to ~5-7 Whisper tokens/s in vi ms id fil zh en ko, 9 in th and ~40
# in my (Burmese script is byte-tokenized; km and lo likewise, ~2.2 and ~2.9 tokens a character).
# The budget allows three times that rate plus 16 tokens, so fast speakers are never cut short.
TOKENS_PER_SECOND = {'th': 10, 'my': 40, 'km': 32, 'lo': 40}
DEFAULT_TOKENS_PER_SECOND = 8
TOKEN_HEADROOM = 3.0
MAX_NEW_TOKENS = 220
FULL_CONTEXT_S = 30.0   # Whisper's window
MIN_CONTEXT_S = 5.0
FRAMES_PER_SECOND = 100   # feature frames
# Greedy first; a decode that loops (gzip ratio > 2.4) is redone by sampling at these temperatures
# (openai-whisper's fallback), seeded so that a recording always gives the same text. Seen: two digit
# phrases 0.3 s apart looped '1-0-0-0-1-0-0-0-0-0...' at 0. Not for a merely unsure decode (mean log
# probability < -1, faster-whisper's default trigger): in hall noise that re-decoded most questions,
# ~1.2 s instead of ~0.7 s, and sampling made them no better (bench/bench_answer_latency.py).
FALLBACK_TEMPERATURES = (0.0, 0.2, 0.4, 0.6)
SAMPLING_SEED = 1  # Whisper's decoder holds 448 tokens, half of them for the prompt


@dataclass(frozen=True)
class WhisperHypothesis(Hypothesis):
    """A Hypothesis (words carry Whisper's per-word probability as conf) plus the language evidence."""
    language_probability: float = 1.0  # of `language` among the candidates; 1.0 when it was given
    language_probs: tuple[tuple[str, float], ...] = ()  # every candidate, best first (empty when given)
    detected: bool = False  # the language was detected, not given
    no_speech_prob: float = 0.0  # Whisper's no-speech probability (highest over its segments)
    avg_logprob: float = 0.0  # mean token log probability over the segments
    compression_ratio: float = 0.0  # highest gzip ratio of a segment's text: > 2.4 is a repetition loop
    duration_s: float = 0.0  # audio heard, at 16 kHz


def _check_rate(sample_rate) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)):
        raise ValueError(f'sample_rate must be an integer, got {sample_rate!r}')
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise ValueError(f'sample_rate {sample_rate} Hz outside {MIN_SAMPLE_RATE}..{MAX_SAMPLE_RATE} Hz')
    return int(sample_rate)


def to_whisper_audio(pcm, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono audio as the float32 16 kHz array Whisper takes.

    pcm: signed 16-bit little-endian bytes, or a 1-D numpy array (int16, or float in -1..1).
    Empty, an odd byte count, NaN/inf, a non-1-D array or a rate outside 8..192 kHz: ValueError.
    """
    rate = _check_rate(sample_rate)
    if isinstance(pcm, (bytes, bytearray, memoryview)):
        data = bytes(pcm)
        if not data:
            raise ValueError('empty audio')
        if len(data) % 2:
            raise ValueError(f'odd byte count {len(data)}: not 16-bit PCM')
        audio = np.frombuffer(data, dtype='<i2').astype(np.float32) / 32768.0
    elif isinstance(pcm, np.ndarray):
        if pcm.ndim != 1:
            raise ValueError(f'need mono 1-D audio, got shape {pcm.shape}')
        if pcm.size == 0:
            raise ValueError('empty audio')
        if pcm.dtype == np.int16:
            audio = pcm.astype(np.float32) / 32768.0
        elif np.issubdtype(pcm.dtype, np.floating):
            if not np.all(np.isfinite(pcm)):
                raise ValueError('audio contains NaN or infinite samples')
            audio = np.clip(pcm, -1.0, 1.0).astype(np.float32)
        else:
            raise ValueError(f'unsupported sample type {pcm.dtype} (int16 or float)')
    else:
        raise ValueError(f'audio must be bytes or a numpy array, got {type(pcm).__name__}')
    if rate != SAMPLE_RATE:
        from scipy.signal import resample_poly
        common = math.gcd(rate, SAMPLE_RATE)
        audio = resample_poly(audio, SAMPLE_RATE // common, rate // common).astype(np.float32)
    return audio


def token_budget(language: str, duration_s: float) -> int:
    """The most tokens a decode of `duration_s` of speech in `language` may produce."""
    rate = TOKENS_PER_SECOND.get(language, DEFAULT_TOKENS_PER_SECOND)
    return min(MAX_NEW_TOKENS, math.ceil(16 + TOKEN_HEADROOM * rate * max(0.0, duration_s)))


def _check_codes(codes: Sequence[str], what: str) -> tuple[str, ...]:
    codes = tuple(codes)
    if not codes:
        raise ValueError(f'no {what} given')
    unknown = [c for c in codes if c not in WHISPER_CODES]
    if unknown:
        raise ValueError(f'unknown {what} {", ".join(map(str, unknown))}; known: {" ".join(LANGUAGES)}')
    return codes


class _SharedModel:
    """One WhisperModel and the lock that serialises its use."""

    def __init__(self, model) -> None:
        self.model = model
        self.lock = threading.Lock()

    def encode_and_detect(self, audio: np.ndarray) -> tuple[object, dict[str, float]]:
        """(the encoder output of the audio's first 30 s, Whisper's probability per Whisper code).

        Whisper pads every window to 30 s, so the encoder costs the same for a 2 s question as for
        a 30 s one; transcribe() hands this output back to faster-whisper instead of encoding twice.
        """
        from faster_whisper.audio import pad_or_trim
        extractor = self.model.feature_extractor
        features = extractor(audio)
        # the first window exactly as faster-whisper's generate_segments cuts it (content = frames - 1)
        segment = pad_or_trim(features[:, :min(extractor.nb_max_frames, features.shape[-1] - 1)])
        encoder_output = self.model.encode(segment)
        results = self.model.model.detect_language(encoder_output)[0]
        self.model.reuse = (segment, encoder_output)
        return encoder_output, {token[2:-2]: float(p) for token, p in results}


def _model_class():
    from faster_whisper import WhisperModel

    class ReusingWhisperModel(WhisperModel):
        """encode() returns the output already computed for language detection when it is asked to
        encode the same window again (once; any other window is encoded as usual), and encodes only the
        first `context_frames` of the padded window when set (see WhisperRecognizer's context_s)."""
        reuse: tuple[np.ndarray, object] | None = None
        context_frames: int | None = None   # encode only this many feature frames of the 30 s window

        def encode(self, features: np.ndarray):
            reuse, self.reuse = self.reuse, None
            if reuse is not None and reuse[0].shape == features.shape and np.array_equal(reuse[0], features):
                return reuse[1]
            if self.context_frames and features.shape[-1] > self.context_frames:
                features = np.ascontiguousarray(features[..., :self.context_frames])
            return super().encode(features)

    return ReusingWhisperModel


_MODELS: dict[tuple[str, int, str], _SharedModel] = {}
_MODELS_LOCK = threading.Lock()


def shared_model(path: Path, cpu_threads: int = DEFAULT_CPU_THREADS, compute_type: str = 'int8') -> _SharedModel:
    """The process' WhisperModel for this folder and settings, loaded on first use (~1 s)."""
    key = (str(Path(path).resolve()), int(cpu_threads), compute_type)
    with _MODELS_LOCK:
        shared = _MODELS.get(key)
        if shared is None:
            try:
                model = _model_class()(key[0], device='cpu', compute_type=compute_type, cpu_threads=key[1])
            except Exception as exc:  # CTranslate2 raises RuntimeError/ValueError on a bad folder
                raise ModelError(f'faster-whisper cannot load {key[0]}: {exc}') from exc
            shared = _MODELS[key] = _SharedModel(model)
        return shared


class WhisperRecognizer:
    """Whole-utterance recognition and spoken language ID with a shared Whisper model.

    Thread-safe. The model is loaded at the first decode (or warm_up()); a model that is not
    assembled raises ModelError naming the command that assembles it.
    """

    def __init__(self, model_dir: str | Path | None = None, cpu_threads: int = DEFAULT_CPU_THREADS,
                 beam_size: int = DEFAULT_BEAM_SIZE, compute_type: str = 'int8',
                 name: str = DEFAULT_WHISPER, context_s: float = FULL_CONTEXT_S) -> None:
        """`context_s`: the encoder window. Whisper pads every utterance to 30 s and its encoder costs the
        same for 2 s as for 30 s; CTranslate2 also runs it on the first `context_s` only (as whisper.cpp's
        audio_ctx). Audio longer than context_s - 1 s gets the full window."""
        if cpu_threads < 1 or beam_size < 1:
            raise ValueError('cpu_threads and beam_size must be >= 1')
        if not MIN_CONTEXT_S <= context_s <= FULL_CONTEXT_S:
            raise ValueError(f'context_s must be within {MIN_CONTEXT_S}..{FULL_CONTEXT_S} s, got {context_s}')
        self.context_s = float(context_s)
        self.model_dir = Path(model_dir) if model_dir else None
        self.name = name
        self.cpu_threads = cpu_threads
        self.beam_size = beam_size
        self.compute_type = compute_type
        self._shared: _SharedModel | None = None
        self._init_lock = threading.Lock()

    def _context_frames(self, audio: np.ndarray) -> int | None:
        """Feature frames to encode for this audio, None for the whole 30 s window."""
        frames = int(round(self.context_s * FRAMES_PER_SECOND))
        needed = audio.size * FRAMES_PER_SECOND // SAMPLE_RATE + FRAMES_PER_SECOND   # + 1 s of margin
        return frames if self.context_s < FULL_CONTEXT_S and needed <= frames else None

    @property
    def loaded(self) -> bool:
        return self._shared is not None

    def _model(self) -> _SharedModel:
        if self._shared is None:
            with self._init_lock:
                if self._shared is None:
                    path = self.model_dir
                    if path is None:
                        status = whisper_status(self.name)
                        if status.state != 'installed':
                            raise ModelError(f'Whisper model {self.name} {status.state}: {status.detail}')
                        path = status.path
                    self._shared = shared_model(path, self.cpu_threads, self.compute_type)
        return self._shared

    def warm_up(self) -> None:
        """Load the model and decode 1 s of silence, so the first visitor does not pay for it."""
        self.transcribe(bytes(2 * SAMPLE_RATE), language='en')

    @staticmethod
    def _detect(shared: _SharedModel, audio: np.ndarray, candidates: tuple[str, ...],
                priors: Mapping[str, float] | None = None) -> list[tuple[str, float]]:
        _, all_probs = shared.encode_and_detect(audio)
        kept = {code: all_probs.get(WHISPER_CODES[code], 0.0) * _prior(priors, code) for code in candidates}
        total = sum(kept.values())
        if total <= 0.0:
            return [(code, 1.0 / len(candidates)) for code in candidates]
        return sorted(((code, p / total) for code, p in kept.items()), key=lambda item: -item[1])

    def detect_language(self, pcm16, candidates: Sequence[str] = LANGUAGES, sample_rate: int = SAMPLE_RATE,
                        priors: Mapping[str, float] | None = None) -> list[tuple[str, float]]:
        """Whisper's language probabilities (the whole 30 s window) restricted to `candidates`, each multiplied by
        its prior (`priors[code]`, missing: 1; e.g. the robot's opener languages x2), and renormalised to
        sum to 1, best first. A prior is relative: x2 doubles the odds of that language against each
        unweighted one. ValueError for a negative, infinite or NaN prior or an unknown language in `priors`
        (before any decoding); all candidates at 0 after the priors: uniform."""
        candidates = _check_codes(candidates, 'candidate language')
        _check_priors(priors)
        audio = to_whisper_audio(pcm16, sample_rate)
        with self._locked(audio, full_window=True) as shared:
            return self._detect(shared, audio, candidates, priors)

    def transcribe(self, pcm16, sample_rate: int = SAMPLE_RATE, language: str | None = None,
                   candidates: Sequence[str] = LANGUAGES, beam_size: int | None = None,
                   priors: Mapping[str, float] | None = None) -> WhisperHypothesis:
        """The utterance's text in `language`, or in the most probable of `candidates` when None, their
        probabilities weighted by `priors` as in detect_language (ignored when `language` is given)."""
        if language is not None:
            _check_codes((language,), 'language')
        else:
            candidates = _check_codes(candidates, 'candidate language')
        _check_priors(priors)
        audio = to_whisper_audio(pcm16, sample_rate)
        with self._locked(audio, full_window=language is None) as shared:
            probs: list[tuple[str, float]] = []
            if language is None:
                probs = self._detect(shared, audio, candidates, priors)
            chosen = language or probs[0][0]
            return self._transcribe_locked(shared, audio, chosen, probs[0][1] if probs else 1.0, probs, beam_size)

    def listen(self, pcm16, candidates: Sequence[str], priors: Mapping[str, float] | None,
               plan: Callable[[list[tuple[str, float]]], Sequence[str]], sample_rate: int = SAMPLE_RATE,
               full_window: bool = True, identified: Sequence[tuple[str, float]] | None = None,
               ) -> tuple[list[tuple[str, float]], list[WhisperHypothesis]]:
        """Spoken language ID, then the transcripts `plan` asks for, encoding the audio once.

        The language probabilities among `candidates` are multiplied by `priors` (missing: 1) and
        renormalised; `plan(probabilities)` (best first) returns the languages to transcribe (none, one,
        or a few). This is the asr engine's call: a language another recognizer hears needs no transcript.
        `full_window`: encode the whole 30 s window, whatever context_s says (the language ID of a new
        visitor: on the recorded digits a 15 s window gave English 0.48 instead of 0.68).
        `identified`: the language probabilities already known (detect_language on the utterance's beginning,
        best first): used instead of detecting again, so only the transcripts are decoded.
        """
        candidates = _check_codes(candidates, 'candidate language')
        audio = to_whisper_audio(pcm16, sample_rate)
        with self._locked(audio, full_window) as shared:
            probs = list(identified) if identified else self._detect(shared, audio, candidates, priors)
            wanted = tuple(plan(probs))
            chosen = _check_codes(wanted, 'language to transcribe') if wanted else ()
            hypotheses = [self._transcribe_locked(shared, audio, code, dict(probs).get(code, 0.0), probs)
                          for code in chosen]   # the first reuses the detection's encoder output
        return probs, hypotheses

    @contextmanager
    def _locked(self, audio: np.ndarray, full_window: bool):
        """The shared model, its lock held, set to encode the whole 30 s window or the context_s one; the
        reused encoder output and the window are cleared after (another caller's audio comes next)."""
        shared = self._model()
        with shared.lock:
            shared.model.context_frames = None if full_window else self._context_frames(audio)
            try:
                yield shared
            finally:
                shared.model.reuse = shared.model.context_frames = None

    def _transcribe_locked(self, shared: _SharedModel, audio: np.ndarray, language: str, probability: float,
                           probs: list[tuple[str, float]], beam_size: int | None = None) -> WhisperHypothesis:
        """One decode in `language`, the model's lock held by the caller."""
        import ctranslate2
        ctranslate2.set_random_seed(SAMPLING_SEED)   # the sampling fallback gives the same text every time
        segments, _ = shared.model.transcribe(
            audio, language=WHISPER_CODES[language], task='transcribe', beam_size=beam_size or self.beam_size,
            temperature=FALLBACK_TEMPERATURES, log_prob_threshold=None, no_speech_threshold=None,
            condition_on_previous_text=False,
            word_timestamps=True, vad_filter=False,
            max_new_tokens=token_budget(language, audio.size / SAMPLE_RATE))
        segments = list(segments)  # the generator decodes: still under the lock
        words = tuple(Word(w.word.strip(), float(w.probability), float(w.start), float(w.end))
                      for s in segments for w in (s.words or ()) if w.word.strip())
        return WhisperHypothesis(
            language, ''.join(s.text for s in segments).strip(), words,
            language_probability=probability, language_probs=tuple(probs), detected=bool(probs),
            no_speech_prob=max((float(s.no_speech_prob) for s in segments), default=0.0),
            avg_logprob=float(np.mean([s.avg_logprob for s in segments])) if segments else 0.0,
            compression_ratio=max((float(s.compression_ratio) for s in segments), default=0.0),
            duration_s=audio.size / SAMPLE_RATE)


def _check_priors(priors: Mapping[str, float] | None) -> None:
    """ValueError unless every prior is a known language with a finite value >= 0."""
    for code in priors or {}:
        _check_codes((code,), 'language in priors')
        try:
            _prior(priors, code)
        except (TypeError, ValueError) as exc:   # not a number ('two', None), or negative, inf or NaN
            raise ValueError(f'prior of {code} must be a finite number >= 0, got {priors[code]!r}') from exc


def _prior(priors: Mapping[str, float] | None, code: str) -> float:
    if not priors:
        return 1.0
    value = float(priors.get(code, 1.0))
    if not math.isfinite(value) or value < 0.0:
        raise ValueError(f'prior of {code} must be a finite number >= 0, got {value!r}')
    return value
