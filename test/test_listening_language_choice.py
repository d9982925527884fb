"""LanguageChooser with crafted recognizer hypotheses, scored with the script LID and (when
present) the language helper's real text LID."""
import pytest

from caexpo_robot.listening.config import ChoiceConfig
from caexpo_robot.listening.hypothesis import Hypothesis, Word
from caexpo_robot.listening.language_choice import LanguageChooser, default_text_lid, script_lid

LANGS = ('ko', 'en', 'zh', 'vi', 'fil')


def hyp(language, text, conf):
    return Hypothesis(language, text, tuple(Word(w, conf, 0, 0) for w in text.split()))


def korean_visitor(conf_ko=0.9):
    # What five recognizers make of one Korean question: the Korean one is confident, the
    # others force their own words onto it with low confidence.
    return [hyp('ko', '화장실 어디 있어요', conf_ko), hyp('en', 'what jung sheila', 0.35),
            hyp('zh', '花 张 是', 0.3), hyp('vi', 'hoa chang sil', 0.3),
            hyp('fil', 'wa jang sil', 0.3)]


def english_visitor(conf_en=0.92):
    return [hyp('ko', '웨어 이즈 더', 0.3), hyp('en', 'where is the toilet please', conf_en),
            hyp('zh', '为 一 的', 0.25), hyp('vi', 'que is do', 0.3),
            hyp('fil', 'wer is da toylet', 0.4)]


def lids():
    available = [('script', script_lid)]
    real = default_text_lid(LANGS)
    if real is not script_lid:
        available.append(('langid', real))
    return available


@pytest.fixture(params=lids(), ids=lambda p: p[0])
def chooser(request):
    return LanguageChooser(LANGS, ChoiceConfig(), request.param[1])


def test_first_utterance_picks_and_locks(chooser):
    decision = chooser.decide(korean_visitor())
    assert (decision.language, decision.reason, decision.locked) == ('ko', 'locked', True)
    assert decision.scores['ko'] > max(v for k, v in decision.scores.items() if k != 'ko')
    assert chooser.wanted_languages() == ('ko',)  # the next utterances go to Korean only


def test_one_utterance_in_another_language_does_not_switch(chooser):
    chooser.decide(korean_visitor())
    decision = chooser.decide(english_visitor())
    assert (decision.language, decision.best, decision.reason) == ('ko', 'en', 'challenge')
    assert chooser.wanted_languages() == LANGS  # listening to all for confirmation
    decision = chooser.decide(korean_visitor())  # back to Korean: the challenge is forgotten
    assert (decision.language, decision.reason) == ('ko', 'kept')
    decision = chooser.decide(english_visitor())
    assert decision.reason == 'challenge' and chooser.locked == 'ko'


def test_two_consecutive_strong_utterances_switch(chooser):
    chooser.decide(korean_visitor())
    chooser.decide(english_visitor())
    decision = chooser.decide(english_visitor())
    assert (decision.language, decision.reason, decision.switched) == ('en', 'switched', True)
    assert chooser.wanted_languages() == ('en',)


def test_weak_evidence_never_switches(chooser):
    chooser.decide(korean_visitor())
    mumble = [hyp('ko', '어', 0.3), hyp('en', 'uh huh', 0.45)]
    for _ in range(5):
        decision = chooser.decide(mumble)
        assert decision.language == 'ko' and not decision.switched


def test_weak_locked_hypothesis_reopens_all_languages(chooser):
    chooser.decide(korean_visitor())
    assert chooser.wanted_languages() == ('ko',)
    chooser.decide([hyp('ko', '저 의 누더기', 0.2)])  # only Korean listened, and it was unsure
    assert chooser.wanted_languages() == LANGS


def test_low_scores_stay_tentative_and_reset_forgets(chooser):
    decision = chooser.decide([hyp('ko', '어', 0.2), hyp('en', 'uh', 0.25)])
    assert decision.reason == 'tentative' and not decision.locked and chooser.locked is None
    chooser.decide(korean_visitor())
    chooser.reset()
    assert chooser.locked is None and chooser.wanted_languages() == LANGS


def test_empty_hypotheses_are_no_evidence(chooser):
    assert chooser.decide([]).reason == 'no_evidence'
    assert chooser.decide([Hypothesis('ko', ''), Hypothesis('en', '')]).reason == 'no_evidence'


def test_text_lid_separates_latin_languages_with_equal_asr_confidence():
    # Same ASR confidence: only the text LID can tell Vietnamese from English here.
    chooser = LanguageChooser(LANGS, ChoiceConfig(), script_lid)
    decision = chooser.decide([hyp('vi', 'nhà vệ sinh ở đâu', 0.7),
                               hyp('en', 'now very sin or dow', 0.7)])
    assert decision.language == 'vi'


def test_without_text_lid_asr_confidence_decides():
    chooser = LanguageChooser(LANGS, ChoiceConfig(), None)
    decision = chooser.decide(english_visitor())
    assert decision.language == 'en' and decision.scores['en'] == pytest.approx(0.92)


def test_failing_text_lid_is_counted_not_fatal():
    def broken(text):
        raise RuntimeError('lid crashed')
    chooser = LanguageChooser(LANGS, ChoiceConfig(), broken)
    assert chooser.decide(korean_visitor()).language == 'ko'
    assert chooser.lid_errors == 5


def test_listen_all_when_locked_option():
    chooser = LanguageChooser(LANGS, ChoiceConfig(listen_all_when_locked=True), script_lid)
    chooser.decide(korean_visitor())
    assert chooser.locked == 'ko' and chooser.wanted_languages() == LANGS


def test_unknown_words_count_as_zero_confidence():
    assert hyp('ko', '화장실 [unk]', 1.0).mean_confidence == 0.5
    assert Hypothesis('ko', '').mean_confidence == 0.0


def test_script_lid():
    assert script_lid('화장실 어디 있어요')[0] == 'ko'
    assert script_lid('厕所在哪里')[0] == 'zh'
    assert script_lid('ห้องน้ำอยู่ที่ไหน')[0] == 'th'
    assert script_lid('nhà vệ sinh ở đâu')[0] == 'vi'
    assert script_lid('where is the toilet') == ('en', 0.3)
    assert script_lid('123 ...') == ('und', 0.0)
