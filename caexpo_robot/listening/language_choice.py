"""Which language is the visitor speaking: pick, lock, and switch only on clear evidence.

Pure logic (no Vosk, no time). Each candidate hypothesis is scored
    score = mean word confidence * ((1 - lid_weight) + lid_weight * support)
where support is the text LID's confidence when it names the hypothesis' own language, else 0.
Multiplicative on purpose: a Korean (or Chinese) recognizer always writes Hangul (Han), so the
text LID agreeing with it is no evidence and must not lift a low-confidence guess; the LID
matters where it can disagree, e.g. a Vietnamese recognizer's output without Vietnamese letters,
or English words from the Filipino model. Without a text LID the score is the ASR confidence.

With Whisper's spoken language ID (`spoken`: probability per language, the robot's priors applied)
the score is further multiplied by ((1 - spoken_weight) + spoken_weight * p(language)): what the voice
sounds like outweighs a grammar-mode recognizer that always outputs one of its phrases confidently.
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping, Sequence

from caexpo_robot.language.langid import identify
from caexpo_robot.listening.config import ChoiceConfig
from caexpo_robot.listening.hypothesis import Hypothesis

TextLid = Callable[[str], tuple[str, float]]

_SCRIPT_LANGUAGE = (  # (unicode name prefix, language, confidence)
    ('HANGUL', 'ko', 0.95), ('CJK', 'zh', 0.9), ('THAI', 'th', 0.95), ('LAO', 'lo', 0.95),
    ('KHMER', 'km', 0.95), ('MYANMAR', 'my', 0.95),
)
_VIETNAMESE_LETTERS = set('ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ')


def script_lid(text: str) -> tuple[str, float]:
    """A text LID from the writing system alone: decisive for non-Latin scripts, Vietnamese by its
    letters, otherwise a weak 'en'. Fast and deterministic: tests and benchmarks pass it to AsrEngine."""
    counts: dict[str, int] = {}
    letters = 0
    for char in text:
        if not char.isalpha():
            continue
        letters += 1
        name = unicodedata.name(char, '')
        for prefix, lang, _ in _SCRIPT_LANGUAGE:
            if name.startswith(prefix):
                counts[lang] = counts.get(lang, 0) + 1
                break
        else:
            if char.lower() in _VIETNAMESE_LETTERS:
                counts['vi'] = counts.get('vi', 0) + 1
    if not letters:
        return 'und', 0.0
    if counts:
        lang = max(counts, key=counts.get)
        if lang == 'vi':
            return 'vi', 0.8
        share = counts[lang] / letters
        confidence = {code: c for _, code, c in _SCRIPT_LANGUAGE}[lang]
        if share > 0.5:
            return lang, confidence * share
    return 'en', 0.3


def default_text_lid(candidates: Sequence[str] | None = None) -> TextLid:
    """caexpo_robot.language.langid.identify, restricted to `candidates`."""
    restrict = tuple(candidates) if candidates and len(candidates) > 1 else None

    def lid(text: str) -> tuple[str, float]:
        guess = identify(text, candidates=restrict)
        return str(guess.code), float(guess.confidence)
    return lid


@dataclass(frozen=True)
class LanguageDecision:
    language: str | None  # the visitor's language after this utterance (None: still unknown)
    best: str | None  # best-scoring language of this utterance alone
    scores: dict[str, float]
    locked: bool
    switched: bool
    reason: str  # 'locked', 'tentative', 'kept', 'challenge', 'switched', 'no_evidence'


@dataclass
class LanguageChooser:
    languages: Sequence[str]  # languages with a loaded recognizer
    config: ChoiceConfig = field(default_factory=ChoiceConfig)
    text_lid: TextLid | None = None
    lid_errors: int = 0

    def __post_init__(self) -> None:
        self.languages = tuple(self.languages)
        self.reset()

    def reset(self) -> None:
        """A new visitor: forget the locked language."""
        self.locked: str | None = None
        self._challenger: str | None = None
        self._streak = 0
        self._doubt = False

    def score(self, hypothesis: Hypothesis) -> float:
        if hypothesis.empty:
            return 0.0
        asr = hypothesis.mean_confidence
        if self.text_lid is None:
            return asr
        try:
            code, confidence = self.text_lid(hypothesis.text)
        except Exception:  # a LID bug must not stop listening; counted, ASR alone decides
            self.lid_errors += 1
            return asr
        support = min(1.0, max(0.0, float(confidence))) if code == hypothesis.language else 0.0
        weight = self.config.lid_weight
        return asr * ((1.0 - weight) + weight * support)

    def wanted_languages(self) -> tuple[str, ...]:
        """Which recognizers should hear the next utterance."""
        if (self.locked is None or self.config.listen_all_when_locked or self._doubt
                or self._streak > 0):
            return self.languages
        return (self.locked,)

    def decide(self, hypotheses: Iterable[Hypothesis], spoken: Mapping[str, float] | None = None
               ) -> LanguageDecision:
        """Score this utterance's hypotheses (weighted by the spoken language ID when given); lock, keep or
        switch the visitor's language."""
        weight = self.config.spoken_weight if spoken else 0.0
        scores = {h.language: round(self.score(h) * ((1.0 - weight) + weight * float(spoken.get(h.language, 0.0)
                                                                                      if spoken else 0.0)), 4)
                  for h in hypotheses if h.language in self.languages}
        best = max(scores, key=scores.get) if scores else None
        best_score = scores.get(best, 0.0) if best else 0.0
        cfg = self.config
        if best is None or best_score <= 0.0:
            return LanguageDecision(self.locked, None, scores, self.locked is not None, False,
                                    'no_evidence')
        if self.locked is None:
            if best_score >= cfg.min_lock_score or (spoken and spoken.get(best, 0.0) >= cfg.lock_probability):
                self.locked = best
                return LanguageDecision(best, best, scores, True, False, 'locked')
            return LanguageDecision(best, best, scores, False, False, 'tentative')

        locked_score = scores.get(self.locked)
        self._doubt = locked_score is not None and locked_score < cfg.doubt_score
        if best == self.locked:
            self._challenger, self._streak = None, 0
            return LanguageDecision(self.locked, best, scores, True, False, 'kept')
        if best_score >= cfg.strong_score and (
                locked_score is None or best_score - locked_score >= cfg.switch_margin):
            if best == self._challenger:
                self._streak += 1
            else:
                self._challenger, self._streak = best, 1
            if self._streak >= cfg.switch_after:
                self.locked, self._challenger, self._streak, self._doubt = best, None, 0, False
                return LanguageDecision(best, best, scores, True, True, 'switched')
            return LanguageDecision(self.locked, best, scores, True, False, 'challenge')
        self._challenger, self._streak = None, 0
        return LanguageDecision(self.locked, best, scores, True, False, 'kept')
