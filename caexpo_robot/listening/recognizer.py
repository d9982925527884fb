"""Streaming speech recognition for one microphone: Vosk and Whisper, voice activity, echo, language.

`AsrEngine.process(chunk, t)` is the whole listening pipeline:
validate chunk → while the robot speaks: echo canceller + barge-in detector (duplex 'cancel'), or discard
(duplex 'mute') → voice-activity segmentation (Silero and/or level) → inside an utterance, the Vosk
recognizers of the languages the chooser wants (streaming, partial results) and the utterance's audio
for Whisper → at the end, one `Utterance` with the chosen language.

Whisper decodes whole utterances and takes ~0.7 s on 2 cores, so the engine never decodes itself:
it returns a `Decode` request; the caller runs `engine.decode(request)` (thread-safe, the only slow
call: the asr node runs it on a worker thread) and hands the result back with `engine.complete(request,
result)` on the engine's thread, which returns the Utterance. A first request goes out at the visitor's
first pause (`whisper.pause_decode_s`, speculative); when the utterance ends without more speech that
decode is the answer, so the end-of-speech wait and the decode overlap. `run(results)` does all of this
inline (tests, the `listen` command).

Spoken language ID: Whisper's detection over the wanted languages, with the opener languages as
priors, weighs each hypothesis' score in the LanguageChooser (confidence × text LID × spoken LID);
a tapped language locks the visitor at once. Transcripts in languages below their `trust` threshold
are marked untrusted (the robot offers the screen instead of answering).
"""
from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np

from caexpo_robot.listening.audio import SAMPLE_RATE, ChunkValidator
from caexpo_robot.listening.config import AsrConfig
from caexpo_robot.listening.echo import BargeInDetector, EchoCancellingListener, FarEndBuffer, SpeexEchoCanceller
from caexpo_robot.listening.endpoint import END, IDLE, START, MuteGate
from caexpo_robot.listening.hearing import configured_whisper_status
from caexpo_robot.listening.hypothesis import UNKNOWN_WORD, Hypothesis, Word, join_hypotheses, words_from_vosk
from caexpo_robot.listening.language_choice import LanguageChooser, LanguageDecision, TextLid, default_text_lid
from caexpo_robot.listening.models import ModelError, model_status
from caexpo_robot.listening.vad import make_segmenter
from caexpo_robot.memory import release_free_memory, resident_mib

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
    engine: str = 'vosk'  # 'vosk' | 'whisper'
    trusted: bool = True  # its transcripts are acted on (else: recognised, the screen offered)


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
        self._phrases: list[str] | None = None
        self._fed = False
        self._unsettled = False   # audio accepted since the last FinalResult
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
        """Between speakers (a new visitor, the robot talking): in a grammar mode a recognizer as new, which
        also forgets Vosk's online speaker adaptation (i-vector, CMVN: it survives Reset, and after the robot
        talked a grammar recognizer heard '식당' in the hall noise before the visitor's '출구'). Cheap there
        (~70 ms, its graph is small); in free mode only reset(): see there."""
        if self._phrases is not None and self._fed:
            self.rebuild()
        else:
            self.reset()

    def rebuild(self) -> None:
        """A new recognizer in the same mode: frees the graph Vosk composed and cached (see reset()), so the
        next free-mode utterance composes it again (~1.4 s more CPU for a few seconds of speech, once)."""
        self._recognizer = self._build(self._phrases)
        self._fed = False
        self.reset()

    @property
    def fed(self) -> bool:
        """Audio was decoded since the recognizer was built."""
        return self._fed

    def accept(self, data: bytes) -> None:
        self._fed = self._unsettled = True
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

    def settle(self) -> None:
        """The visitor paused: Vosk's words so far are finalised now (FinalResult: ~35-45 ms in free mode), so
        the end of the utterance, if it comes, only finalises the pause. Speech resuming goes on as the next
        segment of the same utterance (as after Vosk's own endpoint)."""
        if self._unsettled:
            self._segments.append(self._parse(self._recognizer.FinalResult()))
            self._unsettled = False

    def finish(self) -> Hypothesis:
        """The utterance's final hypothesis; the recognizer is clean afterwards."""
        self._segments.append(self._parse(self._recognizer.FinalResult()))
        result = join_hypotheses(self.language, self._segments)
        self.reset()
        return result

    def reset(self) -> None:
        """Drop the utterance in progress; the recognizer itself is kept. Vosk composes its decoding graph
        (HCLr o Gr) lazily and caches it per recognizer: a new recognizer spends ~1.7 s of CPU on its first
        2.7 s of Korean speech, a reused one ~0.2 s (bench/bench_answer_latency.py: a rebuild per visitor and
        per robot utterance made every Korean question pay it). Reset keeps Vosk's online speaker adaptation
        (i-vector, CMVN) too: Vosk has no call that clears it alone (restart() rebuilds where it is cheap)."""
        self._recognizer.Reset()
        self._segments.clear()
        self._last_partial = ''
        self._unsettled = False

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
    engine: str = 'vosk'  # which recognizer heard `text`
    language_probability: float | None = None  # Whisper's spoken-language probability of `language`
    trusted: bool = True  # False: the language's transcripts are below its trust threshold


@dataclass(frozen=True)
class BargeInHeard:
    """The visitor started speaking while the robot talked (duplex 'cancel')."""
    onset_t: float
    fired_t: float
    level_dbfs: float


@dataclass
class Decode:
    """A Whisper job for one utterance (or its part up to a pause). Built and completed on the engine's
    thread; `engine.decode(request)` may run anywhere."""
    id: int
    audio: np.ndarray  # int16, 16 kHz
    candidates: tuple[str, ...]  # languages to detect among (Vosk ones included: they need no transcript)
    whisper_languages: tuple[str, ...]  # of those, the ones Whisper transcribes
    locked: str | None  # the visitor's language if known
    priors: dict[str, float]
    switch_probability: float
    skip_transcript: frozenset[str]  # languages never trusted: detected, not transcribed
    start_t: float
    final: bool = False  # the utterance ended: this decode is its result
    end_t: float = 0.0
    reason: str = ''
    vosk: dict[str, Hypothesis] = field(default_factory=dict)
    stale: bool = False  # superseded before it ran: decode() skips it (a decode cannot be stopped midway)
    identify_only: bool = False  # spoken language ID only (a new visitor still speaking): no transcript
    language_id: LanguageId | None = None  # the utterance's early language ID, shared by its decodes


class LanguageId:
    """The spoken language ID of an utterance's beginning, filled by its identify_only decode and read by
    the utterance's later decodes: they run after it on the same worker, so they only transcribe."""
    probabilities: tuple[tuple[str, float], ...] = ()   # best first; empty: not done, or not sure enough


@dataclass(frozen=True)
class DecodeResult:
    probabilities: tuple[tuple[str, float], ...]  # spoken language ID, priors applied, best first
    hypotheses: dict[str, Hypothesis]  # Whisper transcripts by language
    seconds: float = 0.0
    error: str = ''


# Whisper's own guards against hallucinated text (as in openai-whisper's transcribe()): a segment that is
# probably no speech and decoded with low confidence, or whose text repeats itself (gzip ratio), is not used.
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
MAX_COMPRESSION_RATIO = 2.4
# After a barge-in the robot is expected to stop within a few hundred ms (the dialogue cancels its speech);
# if it is still talking this long after, the engine goes back to not hearing through its voice.
BARGE_IN_GRACE_S = 1.0
# Audio kept from before the barge-in detector's onset (the first soft sounds of a word are under its echo
# gate); 0.5 s of cancelled robot residual in front made Whisper hear 'nine zero two one zero' as 'I know 210'.
BARGE_IN_PREROLL_S = 0.3
BARGE_IN_KEEP_S = 3.0   # the most audio kept after a barge-in while the VAD has not opened an utterance yet


class AsrEngine:
    """Recognizers (Vosk per language, one shared Whisper), the language chooser, voice activity, echo.

    Not thread-safe except `decode`: call everything else from one thread (the node's executor).
    """

    def __init__(self, config: AsrConfig | None = None, text_lid: TextLid | None | object = DEFAULT_LID,
                 preloaded: Mapping[str, object] | None = None, whisper: object | None = None,
                 vad_model: object | None = None, canceller: object | None = None,
                 resident: Callable[[], float | None] = resident_mib) -> None:
        """`preloaded`: Vosk models by language (tests); `whisper`: a WhisperRecognizer to use (None: built
        from config.whisper if its model is assembled); `canceller`: an echo canceller (None: libspeexdsp);
        `resident`: this process's resident MiB (None: unknown), for vosk_cache_mib."""
        self.config = config or AsrConfig()
        self.statuses: dict[str, RecognizerStatus] = {}
        self.recognizers: dict[str, LanguageRecognizer] = {}
        self.counters: Counter = Counter()
        grammars_by_language: dict[str, dict[str, list[str]]] = {}
        for mode, per_language in self.config.grammars.items():
            for language, phrases in per_language.items():
                grammars_by_language.setdefault(language, {})[mode] = phrases
        fallback: dict[str, str] = {}
        for language in self.config.languages:
            if self.config.engine(language) == 'vosk':
                problem = self._load(language, (preloaded or {}).get(language),
                                     grammars_by_language.get(language, {}))
                if problem:
                    fallback[language] = problem
        self.whisper, whisper_problem = self._whisper(whisper)
        self.whisper_languages: tuple[str, ...] = ()
        if self.whisper is not None:
            self.whisper_languages = tuple(code for code in self.config.languages if code not in self.recognizers)
        for language in self.config.languages:
            if language in self.recognizers:
                continue
            before = f'Vosk: {fallback[language]}; ' if language in fallback else ''
            if self.whisper is None:
                if language not in fallback:   # (a Vosk language keeps its own status)
                    self.statuses[language] = RecognizerStatus(language, 'missing', None, whisper_problem,
                                                               engine='whisper')
            else:
                self.statuses[language] = RecognizerStatus(
                    language, 'loaded', self.whisper.model_dir, before + 'Whisper base', engine='whisper',
                    trusted=self.config.ever_trusted(language))
        lid = default_text_lid(self.languages) if text_lid is DEFAULT_LID else text_lid
        self.chooser = LanguageChooser(self.languages, self.config.language_choice, lid)
        self.priors: dict[str, float] = {}
        self.segmenter = make_segmenter(self.config.vad, self.config.endpoint, vad_model)
        self.validator = ChunkValidator()
        self.gate = MuteGate(self.config.mute_tail_s)
        self.echo = None
        self.duplex = self.config.duplex.mode
        self.duplex_problem = ''
        if self.duplex == 'cancel':
            try:
                self.echo = self._echo_listener(canceller)
            except (OSError, RuntimeError, ValueError) as exc:   # no libspeexdsp: the robot mutes itself
                self.duplex, self.duplex_problem = 'mute', f'echo canceller unavailable ({exc}): muted while speaking'
        self._preroll: deque[np.ndarray] = deque()
        self._preroll_s = 0.0
        self._echo_held = np.zeros(0, np.int16)   # the end of a chunk short of a whole canceller frame
        self._barge_in_audio = False   # the preroll holds a barge-in's audio: kept until the utterance opens
        self._active: tuple[str, ...] = ()
        self._whisper_on = False
        self._audio: list[np.ndarray] = []
        self._utterance_start = 0.0
        self._last_partial_t: dict[str, float] = {}
        self._muted = False
        self._unvoiced_s = 0.0
        self._pending: Decode | None = None   # the decode covering the utterance so far (speculative or final)
        self._language_id: LanguageId | None = None   # the utterance's early language ID, once asked for
        self._identifying: Decode | None = None   # ...the request computing it
        self._vosk_settled = False   # Vosk's words finalised at the visitor's current pause
        self._results: dict[int, DecodeResult] = {}
        self._ids = itertools.count(1)
        self._playing: dict[str, float] = {}   # utterance id -> play start, of the references received
        self._barged = False   # a visitor spoke over the robot: listening through its voice (cancelled)
        self._barged_at: float | None = None
        self.grammar_errors: dict[str, str] = {}
        self._resident = resident
        self._in_flight = 0   # Decodes handed out and not complete()d yet (Whisper may be working on one)
        release_free_memory()   # loading and Whisper's warm-up leave freed pages: not the baseline's
        self._vosk_built_mib = resident()   # the process's size when the free recognizers were (re)built

    # --- loading -------------------------------------------------------------------------------------
    def _load(self, language: str, model, grammars: dict[str, list[str]]) -> str:
        """Build the Vosk recognizer; '' when loaded, else the reason (status recorded)."""
        started = time.monotonic()
        path, where = None, 'preloaded model'
        if model is None:
            status = model_status(language, self.config.models)
            path, where = status.path, status.detail
            if status.state in ('not_installed', 'none_exists'):
                self.statuses[language] = RecognizerStatus(language, 'missing', None, status.detail)
                return status.detail
            if status.state == 'corrupt':
                self.statuses[language] = RecognizerStatus(language, 'corrupt', path, status.detail)
                return status.detail
            try:
                model = load_vosk_model(path)
            except RuntimeError as exc:
                self.statuses[language] = RecognizerStatus(language, 'corrupt', path, str(exc))
                return str(exc)
        try:
            recognizer = LanguageRecognizer(language, model, grammars)
        except Exception as exc:  # a graph that fails to load only shows when building one
            detail = f'Vosk cannot build a recognizer: {exc}'
            self.statuses[language] = RecognizerStatus(language, 'corrupt', path, detail)
            return detail
        self.recognizers[language] = recognizer
        self.statuses[language] = RecognizerStatus(language, 'loaded', path, where, time.monotonic() - started,
                                                   trusted=self.config.ever_trusted(language))
        return ''

    def _whisper(self, given) -> tuple[object | None, str]:
        """(the Whisper recognizer, '') or (None, why there is none)."""
        if given is not None:
            return given, ''
        if not any(self.config.engine(code) == 'whisper' or code not in self.recognizers
                   for code in self.config.languages):
            return None, 'no language is set to whisper'
        from caexpo_robot.listening.whisper import WhisperRecognizer
        settings = self.config.whisper
        status = configured_whisper_status(self.config)
        if status.state != 'installed':
            return None, f'Whisper base {status.state}: {status.detail}'
        folder = status.path
        recognizer = WhisperRecognizer(folder, cpu_threads=settings.cpu_threads, beam_size=settings.beam_size,
                                       context_s=settings.context_s)
        if settings.warm_up:
            try:
                recognizer.warm_up()
            except (ModelError, RuntimeError, ValueError) as exc:
                return None, f'Whisper base failed to load: {exc}'
        return recognizer, ''

    def _echo_listener(self, canceller):
        duplex = self.config.duplex
        canceller = canceller or SpeexEchoCanceller(frame_ms=20, filter_ms=duplex.filter_ms)
        detector = BargeInDetector(probability=_silero_probability(self.config),
                                   start_threshold=duplex.barge_in_threshold,
                                   continue_threshold=min(duplex.barge_in_threshold, 0.4),
                                   onset_ms=duplex.barge_in_onset_ms, preroll_s=BARGE_IN_PREROLL_S)
        return EchoCancellingListener(canceller, FarEndBuffer(latency_s=duplex.output_latency_s), detector)

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages with a working recognizer (Vosk or Whisper)."""
        return tuple(code for code in self.config.languages
                     if code in self.recognizers or code in self.whisper_languages)

    @property
    def trusted_languages(self) -> tuple[str, ...]:
        """Languages whose words the robot acts on (the others are recognised, then the screen offered)."""
        return tuple(code for code in self.languages if self.config.ever_trusted(code))

    def not_acted_on(self) -> dict[str, str]:
        """Why each configured language's speech is not acted on (not heard, or heard but not trusted)."""
        reasons = {}
        for language, status in self.statuses.items():
            if language in self.trusted_languages:
                continue
            if status.state == 'loaded':
                reasons[language] = (f'recognised by {status.engine}; transcripts not trusted (asr.yaml trust): '
                                     'the screen is offered')
            else:
                reasons[language] = f'{status.state}: {status.detail}'
        return reasons

    # --- controls -------------------------------------------------------------------------------------
    def set_speaking(self, speaking: bool, t: float) -> None:
        """The TTS 'speaking' flag (duplex 'mute': audio is discarded while set and mute_tail_s after)."""
        self.gate.set_speaking(speaking, t)

    def robot_audio(self, pcm: bytes | np.ndarray, t_start: float, utterance_id: str = '') -> None:
        """What the robot's speaker plays from t_start (16 kHz int16): the echo canceller's reference."""
        if self.echo is None:
            return
        if not self.echo.far_end.push(pcm, t_start):
            self.counters['reference_dropped'] += 1
            return
        self._playing[utterance_id] = t_start
        while len(self._playing) > 32:   # (finished utterances are never reported here: keep the newest)
            self._playing.pop(next(iter(self._playing)))
        self.echo.detector.reset()   # armed for this utterance
        self._barged, self._barged_at = False, None

    def robot_stopped(self, t: float, utterance_id: str = '') -> None:
        """The robot's utterance `utterance_id` was cut at t (cancelled, interrupted): its voice ends there.
        A cancelled utterance that never played (still queued) changes nothing: what plays goes on."""
        if self.echo is not None and utterance_id in self._playing:
            del self._playing[utterance_id]
            self.echo.far_end.stop(t)

    def new_visitor(self, language: str | None = None, expected: Sequence[str] = ()) -> None:
        """Forget the previous visitor's language and anything heard. `language`:
        known already (tapped): locked at once; `expected`: the robot's opener languages (priors)."""
        self.chooser.reset()
        if language is not None:
            self.choose_language(language)
        prior = self.config.language_choice.opener_prior
        self.priors = {code: prior for code in expected if code in self.languages}
        if self.segmenter.in_utterance or self._barge_in_audio:
            # The new visitor is already speaking (over the greeting: the conversation starts when it
            # stops): their words are kept.
            self.counters['utterances_kept_for_new_visitor'] += 1
            return
        self._abandon(restart=True)
        self._bound_vosk_cache()

    def _bound_vosk_cache(self) -> None:
        """Between visitors: free-mode Vosk recognizers rebuilt once the process grew vosk_cache_mib since they
        were built. Vosk composes a free recognizer's decoding graph lazily and caches it for the recognizer's
        life (a warm one decodes ~8x cheaper: see LanguageRecognizer.reset), and the cache grows with every
        new sound it hears, not only Korean: every new visitor's first question goes to it (the engine
        +232 MiB over 40 espeak-ng questions in 5 languages, still rising). Rebuilt (~90 ms here, between
        visitors), the next free-mode Korean question costs ~1.4 s more CPU, once. The process's size means
        Vosk's cache only when no Whisper decode is out and after a trim (see the two comments below)."""
        budget = self.config.vosk_cache_mib
        grown = [r for r in self.recognizers.values() if r.mode is None and r.fed]
        if budget <= 0 or self._vosk_built_mib is None or not grown:
            return
        if self._in_flight:   # a Whisper decode's working memory (~100 MiB) would count: the next visitor
            self.counters['vosk_cache_checks_postponed'] += 1
            return
        # what a Whisper decode freed is held by glibc until trimmed: only what is kept counts
        release_free_memory()
        now = self._resident()
        if now is None or now - self._vosk_built_mib <= budget:
            return
        for recognizer in grown:
            recognizer.rebuild()
        release_free_memory()   # the freed graph goes back to the system, not to glibc's free lists
        after = self._resident()
        self.counters['vosk_rebuilt_for_memory'] += 1
        self.counters['vosk_released_mib'] += round(now - after) if after is not None else 0
        self._vosk_built_mib = after

    def choose_language(self, language: str) -> None:
        """The visitor tapped their language on the screen: it is theirs (locked) from the next utterance."""
        if language in self.languages:
            self.chooser.reset()
            self.chooser.locked = language

    def set_grammar(self, mode: str | None, languages: Sequence[str] | None = None
                    ) -> dict[str, list[str]]:
        """Switch Vosk recognizers to a grammar mode (None = free); the phrases each one rejected.

        Languages without that mode in the config, or none of whose phrases are in their model's
        vocabulary (reason in grammar_errors), listen freely; Whisper always listens freely. Drops an
        utterance in progress.
        """
        self._abandon()
        rejected = {}
        for language in languages or tuple(self.recognizers):
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

    # --- audio ----------------------------------------------------------------------------------------
    def process(self, data: bytes, t: float, sample_rate: int = SAMPLE_RATE
                ) -> list[Partial | Utterance | Decode | BargeInHeard]:
        """Feed one chunk whose first sample was captured at time t (seconds); what it produced."""
        samples = self.validator.validate(data, sample_rate)
        if samples is None:
            return []
        duration = samples.size / SAMPLE_RATE
        events: list = []
        if self.duplex == 'mute' or self.echo is None:
            if not self.gate.admits(t):
                self._mute()
                return []
            self._muted = False
            return events + self._listen(samples, t, duration)
        # The canceller takes whole 20 ms frames: a chunk of another length (microphone chunk_ms 10..1000)
        # leaves its remainder for the next one.
        frame = self.echo.canceller.frame_samples
        held = self._echo_held
        if held.size:
            t -= held.size / SAMPLE_RATE
            samples = np.concatenate([held, samples])
        usable = samples.size - samples.size % frame
        self._echo_held = samples[usable:]
        if usable == 0:
            return []
        samples = samples[:usable]
        duration = usable / SAMPLE_RATE
        clean, barge = self.echo.push(samples, t)
        clean_samples = np.frombuffer(clean, dtype='<i2')
        clean_t = t - self.echo.canceller.latency_samples / SAMPLE_RATE
        tail = self.config.duplex.echo_tail_s
        robot_audible = self.echo.far_end.playing(clean_t - tail, clean_t + duration)
        if barge is not None and robot_audible and not self._barged:
            self._barged, self._barged_at = True, barge.fired_t
            self.counters['barge_ins'] += 1
            events.append(BargeInHeard(barge.onset_t, barge.fired_t, round(barge.level_dbfs, 1)))
            self._abandon()
            self._barge_in_audio = True
            onset = np.frombuffer(barge.audio, dtype='<i2')
            after = clean_samples[max(0, int(round((barge.fired_t - clean_t) * SAMPLE_RATE))):]
            heard = np.concatenate([onset, after])
            return events + self._listen(heard, barge.audio_start_t, heard.size / SAMPLE_RATE)
        if (self._barged and self._barged_at is not None and clean_t - self._barged_at > BARGE_IN_GRACE_S
                and self.echo.far_end.playing(clean_t, clean_t + duration)):
            # The robot went on talking (the dialogue did not stop it, e.g. a farewell): stop listening
            # through its voice again, and re-arm the detector for a visitor who really speaks up.
            self.counters['barge_ins_not_followed'] += 1
            self._barged, self._barged_at = False, None
            self.echo.detector.reset()
        if robot_audible and not self._barged:
            self._mute()   # the robot's voice (cancelled) and no visitor over it: nothing to hear
            return events
        if not robot_audible:
            self._barged, self._barged_at = False, None
        self._muted = False
        return events + self._listen(clean_samples, clean_t, duration)

    def flush(self, t: float) -> list[Utterance | Decode]:
        """End of stream: close an utterance in progress."""
        if not self.segmenter.in_utterance:
            return []
        self.segmenter.reset()
        return self._finish(t, 'flush')

    def decode(self, request: Decode) -> DecodeResult:
        """Run Whisper on a Decode request: spoken language ID over its candidates (priors applied), then
        the transcript(s) it needs. Thread-safe; never raises (a failure is DecodeResult.error)."""
        started = time.perf_counter()
        if request.stale:   # the visitor went on speaking while it waited: the next decode is the one
            return DecodeResult((), {}, 0.0)
        try:
            if request.identify_only:
                probabilities = tuple(self.whisper.detect_language(request.audio, request.candidates,
                                                                   priors=request.priors))
                if probabilities[0][1] >= self.config.language_choice.lock_probability:
                    request.language_id.probabilities = probabilities   # sure enough: the later decodes use it
                return DecodeResult(probabilities, {}, time.perf_counter() - started)
            identified = request.language_id.probabilities if request.language_id is not None else ()
            probabilities, hypotheses = self.whisper.listen(
                request.audio, request.candidates, request.priors, lambda probs: self._to_transcribe(request, probs),
                # a new visitor's language ID needs the whole window; once identified, the transcript does not
                full_window=request.locked is None and not identified, identified=identified)
        except Exception as exc:   # a decoder failure costs this utterance, not the listening
            return DecodeResult((), {}, time.perf_counter() - started, f'{type(exc).__name__}: {exc}')
        kept = {}
        for hypothesis in hypotheses:
            if _hallucinated(hypothesis):
                self.counters['whisper_not_speech'] += 1   # (decode runs on a worker: Counter += is atomic enough
                continue                                   #  for a diagnostic count under the GIL)
            kept[hypothesis.language] = hypothesis
        return DecodeResult(tuple(probabilities), kept, time.perf_counter() - started)

    @staticmethod
    def _to_transcribe(request: Decode, probabilities: Sequence[tuple[str, float]]) -> list[str]:
        """Which languages Whisper writes out, given its spoken language ID (best first)."""
        wanted = [code for code in request.whisper_languages if code not in request.skip_transcript]
        best, p_best = probabilities[0] if probabilities else (None, 0.0)
        if request.locked is not None:
            chosen = [request.locked] if request.locked in wanted else []
            if best != request.locked and best in wanted and p_best >= request.switch_probability:
                chosen.append(best)   # clear evidence of another language: heard in it too
            return chosen
        return [best] if best in wanted else []

    def complete(self, request: Decode, result: DecodeResult) -> list[Utterance]:
        """Hand back a decode's result (engine thread). A speculative decode that the visitor's further
        speech made stale is dropped; one whose utterance ended gives the Utterance."""
        self._in_flight = max(0, self._in_flight - 1)
        if result.error:
            self.counters['decode_errors'] += 1
        if request.identify_only:
            if request.language_id is not None and request.language_id.probabilities:
                self.counters['language_ids_early_sure'] += 1
                if (request is self._identifying and not request.stale and self.segmenter.in_utterance
                        and request.start_t == self._utterance_start):   # still this utterance
                    self._stop_unspoken_vosk(dict(request.language_id.probabilities))
            return []
        if self._pending is None or request.id != self._pending.id:
            self.counters['decodes_discarded'] += 1
            return []
        if not request.final:
            self._results[request.id] = result   # the utterance goes on; used if it ends without more speech
            return []
        self._pending = None
        self._results.clear()
        return self._choose(request, result)

    def _stop_unspoken_vosk(self, spoken: Mapping[str, float]) -> None:
        """A new visitor's language identified while they speak (sure): the Vosk recognizers of languages Whisper
        gives less than min_probability stop hearing this utterance. Their words would be dropped at its end
        anyway (_choose), and each costs CPU beside Whisper's decode on the robot's two cores (its words
        finalised at the pause delayed a new visitor's decode ~0.1 s) and grows its graph cache with sounds
        of another language."""
        floor = self.config.language_choice.min_probability
        stopped = tuple(code for code in self._active if spoken.get(code, 0.0) < floor)
        for code in stopped:
            self.recognizers[code].reset()
        self._active = tuple(code for code in self._active if code not in stopped)
        self.counters['vosk_stopped_by_language_id'] += len(stopped)

    def run(self, results: Sequence) -> list[Partial | Utterance | BargeInHeard]:
        """`results` with every Decode run inline and replaced by what it completes (tests, CLI)."""
        out = []
        for item in results:
            if isinstance(item, Decode):
                out += self.complete(item, self.decode(item))
            else:
                out.append(item)
        return out

    def stats(self) -> dict:
        stats = {**self.validator.stats(), **dict(self.counters),
                 'locked_language': self.chooser.locked, 'duplex': self.duplex}
        now = self._resident() if self._vosk_built_mib is not None else None
        if now is not None:
            stats['grown_since_vosk_built_mib'] = round(now - self._vosk_built_mib)
        floor = getattr(getattr(self.segmenter, 'energy', None), 'noise_floor', None)
        if floor is not None:
            stats['noise_floor_dbfs'] = round(floor, 1)
        if self.echo is not None:
            detector = self.echo.detector
            stats['echo_reduction_db'] = round(detector.echo_reduction_db(), 1)
            stats['barge_in_vad_frames'] = detector.probability_frames   # dormant while the robot is silent
            stats['barge_in_dormant_frames'] = detector.dormant_frames
        return stats

    # --- internals ------------------------------------------------------------------------------------
    def _mute(self) -> None:
        if not self._muted:
            self._muted = True
            if self.segmenter.in_utterance:
                self.counters['utterances_cut_by_robot_speech'] += 1
            self._abandon(restart=True)  # while the robot talks: clean start afterwards
        self.counters['muted_chunks'] += 1

    def _listen(self, samples: np.ndarray, t: float, duration: float) -> list:
        step = self.segmenter.push(samples)
        if step.state == IDLE:
            self._remember(samples, duration)
            self.counters['idle_chunks'] += 1
            return []
        if step.state == START:
            return self._start(samples, t, duration)
        for recognizer in self._active_recognizers():
            recognizer.accept(samples.tobytes())
        if self._whisper_on:
            self._audio.append(samples)
        if step.state == END:
            return self._finish(t + duration, step.reason)
        events: list = self._partials(t + duration)
        # frame-accurate: a chunk holding the last 50 ms of a word is 'voiced', its other 50 ms are pause
        self._unvoiced_s = self.segmenter.trailing_silence_s
        paused = self._unvoiced_s + 1e-9 >= self.config.whisper.pause_decode_s
        if step.voiced:
            self._vosk_settled = False
        elif paused and not self._vosk_settled and not (self._whisper_on and self._pending is None):
            # Vosk's words so far finalised once per pause: the end only adds the pause. Not in the chunk that
            # hands Whisper its decode: that goes out first (FinalResult took the engine thread ~0.1 s before
            # the decode was submitted: a new visitor's answer came that much later), Vosk at the next chunk.
            self._vosk_settled = True
            for recognizer in self._active_recognizers():
                recognizer.settle()
        if step.voiced and self._pending is not None:
            self.counters['decodes_superseded'] += 1
            self._pending.stale = True
            self._pending = None   # the visitor went on: that decode is stale
            self._results.clear()
        if self._whisper_on and self._pending is None and paused:
            self._pending = self._request(final=False)
            self.counters['decodes_at_pause'] += 1
            self._in_flight += 1
            events.append(self._pending)
        elif self._early_language_id_due():
            # A new visitor still speaking: their language is identified now, on the worker, so that the decodes
            # at their pause only transcribe (Whisper's language ID needs the whole 30 s window: ~0.4-0.6 s more
            # after the visitor stopped). Whisper not sure enough (lock_probability) on that much: the decode
            # at the pause identifies again, on the whole utterance.
            self._language_id = LanguageId()
            self.counters['language_ids_early'] += 1
            self._identifying = replace(self._request(final=False), identify_only=True)
            self._in_flight += 1
            events.append(self._identifying)
        return events

    def _early_language_id_due(self) -> bool:
        early_s = self.config.whisper.early_language_id_s
        return (early_s > 0.0 and self._whisper_on and self._language_id is None
                and self._locked_language() is None and sum(a.size for a in self._audio) >= early_s * SAMPLE_RATE)

    def _start(self, samples: np.ndarray, t: float, duration: float) -> list:
        self._remember(samples, duration)
        wanted = self.chooser.wanted_languages()
        self._active = tuple(code for code in wanted if code in self.recognizers)
        self._whisper_on = any(code in self.whisper_languages for code in wanted)
        if hasattr(self.segmenter, 'end_on_energy') and self.config.vad.mode == 'combined':
            # Vosk's words are ready at the end: the sooner it is known, the sooner the answer. Whisper decodes
            # at the pause, and read the recorded digits' last word wrong with the level's earlier pause.
            rule = self.config.vad.combined_end if self._whisper_on else self.config.vad.combined_end_vosk
            self.segmenter.end_on_energy = rule == 'vad_or_energy'
        self._utterance_start = t - self._preroll_s + duration
        for recognizer in self._active_recognizers():
            for block in self._preroll:
                recognizer.accept(block.tobytes())
        self._audio = list(self._preroll) if self._whisper_on else []
        self._preroll.clear()
        self._preroll_s = 0.0
        self._barge_in_audio = False
        self._last_partial_t = {}
        self._unvoiced_s = 0.0
        self._pending = None
        self._results.clear()
        self._language_id = None
        self._vosk_settled = False
        self.counters['utterances_started'] += 1
        return self._partials(t + duration)

    def _locked_language(self) -> str | None:
        """The visitor's language when only it is listened for (their utterances need no language ID)."""
        return self.chooser.locked if self.chooser.wanted_languages() == (self.chooser.locked,) else None

    def _request(self, final: bool) -> Decode:
        locked = self._locked_language()
        return Decode(
            next(self._ids), np.concatenate(self._audio) if self._audio else np.zeros(0, np.int16),
            candidates=self.languages, whisper_languages=self.whisper_languages, locked=locked,
            priors=dict(self.priors), switch_probability=self.config.language_choice.switch_probability,
            skip_transcript=frozenset(code for code in self.whisper_languages
                                      if not self.config.ever_trusted(code)),
            start_t=self._utterance_start, final=final, language_id=None if locked else self._language_id)

    def _active_recognizers(self):
        return [self.recognizers[code] for code in self._active]

    def _remember(self, samples: np.ndarray, duration: float) -> None:
        self._preroll.append(samples)
        self._preroll_s += duration
        keep = max(self.config.endpoint.preroll_ms, self.config.endpoint.start_speech_ms + 100) / 1000.0
        if self._barge_in_audio:   # since a barge-in: keep its audio (from before the onset) until speech opens
            keep = BARGE_IN_KEEP_S
        while self._preroll and self._preroll_s - self._preroll[0].size / SAMPLE_RATE >= keep:
            self._preroll_s -= self._preroll.popleft().size / SAMPLE_RATE

    def _abandon(self, restart: bool = False) -> None:
        for recognizer in self.recognizers.values():
            if restart:
                recognizer.restart()
            else:
                recognizer.reset()
        self.segmenter.reset()
        self._preroll.clear()
        self._preroll_s = 0.0
        self._barge_in_audio = False
        self._active = ()
        self._whisper_on = False
        self._audio = []
        if self._pending is not None:
            self._pending.stale = True
        self._pending = None
        self._results.clear()
        self._language_id = None
        if self._identifying is not None:
            self._identifying.stale = True   # the utterance is dropped: if still queued, the worker skips it
        self._identifying = None

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

    def _finish(self, t: float, reason: str) -> list[Utterance | Decode]:
        vosk = {r.language: r.finish() for r in self._active_recognizers()}
        self._active = ()
        whisper_on, self._whisper_on = self._whisper_on, False
        if not whisper_on:
            self._audio = []
            request = Decode(0, np.zeros(0, np.int16), (), (), None, {}, 1.0, frozenset(), self._utterance_start,
                             True, t, reason, vosk)
            return self._choose(request, DecodeResult((), {}))
        pending = self._pending
        reused = pending is not None and self._unvoiced_s + 1e-9 >= self.config.whisper.pause_decode_s
        if reused:
            self.counters['decodes_reused'] += 1   # nothing voiced since the pause: that decode stands
        else:
            pending = self._pending = self._request(final=True)
        pending.final, pending.end_t, pending.reason, pending.vosk = True, t, reason, vosk
        self._audio = []
        self._language_id = None
        done = self._results.pop(pending.id, None)
        if done is not None:
            self._pending = None
            return self._choose(pending, done)
        # handed out at the pause and still decoding: complete() gives the Utterance; else hand it out now
        if reused:
            return []
        self._in_flight += 1
        return [pending]

    def _choose(self, request: Decode, result: DecodeResult) -> list[Utterance]:
        spoken = dict(result.probabilities) or None
        vosk = request.vosk
        if spoken and request.locked is None:   # Vosk writes its words for any sound: Whisper's ID vets them
            floor = self.config.language_choice.min_probability
            vosk = {code: h for code, h in vosk.items() if spoken.get(code, 0.0) >= floor}
            self.counters['vosk_hypotheses_vetoed'] += len(request.vosk) - len(vosk)
        hypotheses = {**vosk, **result.hypotheses}
        if all(h.empty for h in hypotheses.values()) and not _detected_untrusted(request, result):
            self.counters['empty_utterances'] += 1
            return []
        decision = self.chooser.decide(hypotheses.values(), spoken)
        language = decision.language if decision.language in hypotheses else decision.best
        untrusted = _detected_untrusted(request, result)
        if untrusted and (language is None or language not in hypotheses or hypotheses[language].empty):
            language = untrusted   # the visitor speaks a language whose words are not used: offer the screen
            self.chooser.locked = self.chooser.locked or untrusted
            chosen = Hypothesis(untrusted, '')
        else:
            if language not in hypotheses:  # no usable evidence: the most confident non-empty one
                language = max((h for h in hypotheses.values() if not h.empty),
                               key=lambda h: h.mean_confidence).language
            chosen = hypotheses[language]
        engine = 'vosk' if language in vosk else 'whisper'
        confidence = round(chosen.mean_confidence, 4)
        trusted = self.config.trusted(language, confidence)
        self.counters['utterances'] += 1
        if not trusted:
            self.counters['untrusted_utterances'] += 1
        probability = spoken.get(language) if spoken else None
        return [Utterance(language, chosen.text, chosen.words, confidence, request.start_t, request.end_t,
                          request.reason, decision, hypotheses, engine, probability, trusted)]


def _hallucinated(hypothesis) -> bool:
    """Whisper's text that is not speech: no-speech with low confidence, or a repetition loop."""
    no_speech = getattr(hypothesis, 'no_speech_prob', 0.0) > NO_SPEECH_PROB and \
        getattr(hypothesis, 'avg_logprob', 0.0) < LOW_LOGPROB
    return no_speech or getattr(hypothesis, 'compression_ratio', 0.0) > MAX_COMPRESSION_RATIO


def _detected_untrusted(request: Decode, result: DecodeResult) -> str | None:
    """The language Whisper heard, when it is one whose transcripts are skipped (never trusted)."""
    if request.locked is not None and request.locked in request.skip_transcript:
        return request.locked   # the visitor is known to speak it
    if not result.probabilities:
        return None
    best, _ = result.probabilities[0]
    if best in request.skip_transcript and (request.locked is None or request.locked == best):
        return best
    return None


def _silero_probability(config: AsrConfig):
    """The barge-in detector's speech probability: a Silero VAD of its own (its state follows the
    cancelled signal, not the segmenter's), scoring each 20 ms frame by the 32 ms window ending there."""
    from caexpo_robot.listening.echo import SileroFrameProbability
    from caexpo_robot.listening.vad import SileroVad
    return SileroFrameProbability(SileroVad(config.vad.model))
