"""The recognizer's results as the message the interaction node reads (HeardSpeech). Pure: no rclpy."""
from __future__ import annotations

from caexpo_robot.listening.recognizer import Partial, Utterance
from caexpo_robot.messages import HeardSpeech, LanguageCandidate, WordConfidence


def heard_speech(result: Partial | Utterance) -> HeardSpeech:
    """A partial (final=False) or final result; pydantic's ValidationError if a value is out of range."""
    if isinstance(result, Partial):
        return HeardSpeech(text=result.text, language=result.language, final=False, t=result.t)
    return HeardSpeech(
        text=result.text, language=result.language, final=True, t=result.end_t, confidence=unit(result.confidence),
        start=result.start_t, end=result.end_t,
        words=[WordConfidence(word=w.word, conf=unit(w.conf)) for w in result.words],
        candidates=[LanguageCandidate(language=h.language, text=h.text, confidence=unit(h.mean_confidence))
                    for h in (result.hypotheses or {}).values()],
        engine=result.engine, trusted=result.trusted,
        language_probability=None if result.language_probability is None else unit(result.language_probability))


def unit(value: float) -> float:
    """A confidence as the message carries it: within 0..1, three decimals."""
    return round(min(max(float(value), 0.0), 1.0), 3)
