"""What a recognizer heard: words with confidence, per language."""
from __future__ import annotations

from dataclasses import dataclass

UNKNOWN_WORD = '[unk]'


@dataclass(frozen=True)
class Word:
    word: str
    conf: float  # Vosk posterior 0..1
    start: float  # seconds since the recognizer's last reset
    end: float


@dataclass(frozen=True)
class Hypothesis:
    language: str
    text: str
    words: tuple[Word, ...] = ()

    @property
    def mean_confidence(self) -> float:
        """Mean word confidence; '[unk]' words count as 0, no words → 0."""
        if not self.words:
            return 0.0
        return sum(0.0 if w.word == UNKNOWN_WORD else w.conf for w in self.words) / len(self.words)

    @property
    def empty(self) -> bool:
        return not self.text.strip()


def words_from_vosk(entries: list[dict] | None) -> tuple[Word, ...]:
    """Vosk 'result' / 'partial_result' entries as Words (missing fields → 0)."""
    words = []
    for entry in entries or ():
        if isinstance(entry, dict) and entry.get('word'):
            words.append(Word(str(entry['word']), float(entry.get('conf', 0.0)),
                              float(entry.get('start', 0.0)), float(entry.get('end', 0.0))))
    return tuple(words)


def join_hypotheses(language: str, parts: list[Hypothesis]) -> Hypothesis:
    """One hypothesis from Vosk's consecutive segments of the same utterance."""
    texts = [p.text for p in parts if p.text.strip()]
    words = tuple(w for p in parts for w in p.words)
    return Hypothesis(language, ' '.join(texts), words)
