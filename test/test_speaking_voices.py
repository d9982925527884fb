"""Speech plans: which voice reads what, with every fallback visible; pinyin and Burmese shaping."""
import re
from pathlib import Path

import pytest
import yaml

from caexpo_robot.language import LANGUAGES
from caexpo_robot.language.scripts import script_counts
from caexpo_robot.paths import config_path
from caexpo_robot.speaking.myanmar import myanmar_for_speech
from caexpo_robot.speaking.pinyin import hanzi_to_pinyin
from caexpo_robot.speaking.synthesizer import EspeakCliSynthesizer
from caexpo_robot.speaking.voices import SpeechPlan, VoiceTable

VALUES = {'name': 'An', 'hall': '5', 'time': '10:30'}


def test_every_configured_voice_exists_in_espeak_ng(table):
    available = EspeakCliSynthesizer().voices()
    assert table.voices_used() <= available, table.voices_used() - available
    assert {'vi', 'th', 'ms', 'id', 'my', 'en-us', 'ko', 'cmn-latn-pinyin'} <= table.voices_used()


def test_voice_kinds(table):
    kinds = {code: table.voice_kind(code) for code in LANGUAGES}
    assert kinds == {'vi': 'native', 'th': 'native', 'ms': 'native', 'id': 'native', 'fil': 'fallback:id',
                     'my': 'native', 'km': 'screen_only', 'lo': 'screen_only', 'zh': 'native', 'en': 'native',
                     'ko': 'native'}


@pytest.mark.parametrize('code', ['km', 'lo'])
def test_khmer_and_lao_go_to_the_screen_never_through_a_voice(pb, table, code):
    for key in pb.keys():
        original = pb.say(key, code, **VALUES).text
        plan = table.plan(original, code)
        assert plan.fallback == 'screen_only' and plan.screen_text == original
        assert plan.spoken_language != code
        assert plan.spoken_text == pb.say('read_screen', plan.spoken_language).text
        assert plan.voice == table.entry(plan.spoken_language).voice
        counts = script_counts(plan.spoken_text)
        assert counts['Khmer'] == 0 and counts['Lao'] == 0
        assert 'no voice' in plan.detail and code in plan.detail


def test_filipino_uses_the_neighbour_voice(pb, table):
    text = pb.say('greeting', 'fil').text
    plan = table.plan(text, 'fil')
    assert plan == SpeechPlan('fil', 'id', text, 'fil', None, 'neighbour_voice', 'fil read with id voice',
                              plan.rate_wpm)


def test_mandarin_is_spoken_as_tone_numbered_pinyin(pb, table):
    for key in pb.keys():
        plan = table.plan(pb.say(key, 'zh', name='王先生', hall='5号馆', time='10点30分').text, 'zh')
        assert plan.voice == 'cmn-latn-pinyin' and plan.fallback is None
        assert script_counts(plan.spoken_text)['Han'] == 0, plan.spoken_text
        syllables = re.findall(r'[a-zü]+([1-5])\b', plan.spoken_text)
        assert syllables and len(syllables) >= 2
    assert hanzi_to_pinyin('您好，欢迎！') == 'nin2 hao3, huan1 ying2!'
    assert hanzi_to_pinyin('银行在哪里？') == 'yin2 hang2 zai4 na2 li3?'   # phrase reading + 3-3 sandhi
    assert hanzi_to_pinyin('什么') == 'shen2 me5'                        # neutral tone as 5
    assert hanzi_to_pinyin('会议在10:30，5号馆') == 'hui4 yi4 zai4 10:30, 5 hao4 guan3'


def test_native_plans_keep_the_text(pb, table):
    for code in ['vi', 'th', 'ms', 'id', 'en', 'ko']:
        text = pb.say('offer_help', code).text
        plan = table.plan(text, code)
        assert (plan.voice, plan.spoken_text, plan.spoken_language, plan.screen_text, plan.fallback) == \
            (table.entry(code).voice, text, code, None, None)


def test_unvoiced_script_inside_another_language_is_left_out_of_speech(table):
    plan = table.plan('Xin chào ជំរាបសួរ, mời vào', 'vi')
    assert plan.spoken_text == 'Xin chào , mời vào' or 'ជ' not in plan.spoken_text
    assert plan.screen_text == 'Xin chào ជំរាបសួរ, mời vào' and 'Khmer' in plan.detail
    only = table.plan('ສະບາຍດີ', 'en')
    assert only.fallback == 'screen_only' and only.spoken_text == 'Please read the text on my screen.'


def test_glued_scripts_are_separated_for_the_voice(table):
    plan = table.plan('ยินดีต้อนรับคุณNguyenครับ', 'th')
    assert 'คุณ Nguyen ครับ' in plan.spoken_text


@pytest.mark.parametrize('text', ['', '   ', '\n\t'])
def test_empty_text_is_refused(table, text):
    with pytest.raises(ValueError, match='empty'):
        table.plan(text, 'vi')


def test_unknown_language_is_refused(table):
    with pytest.raises(ValueError, match='xx'):
        table.plan('hello', 'xx')
    with pytest.raises(ValueError):
        table.voice_kind(None)


def test_bad_voice_tables(tmp_path, pb):
    data = yaml.safe_load(config_path('voices.yaml').read_text(encoding='utf-8'))

    def load(mutate):
        d = yaml.safe_load(yaml.safe_dump(data))
        mutate(d)
        path = Path(tmp_path) / 'voices.yaml'
        path.write_text(yaml.safe_dump(d, allow_unicode=True), encoding='utf-8')
        return VoiceTable.load(path, phrasebook=pb)

    load(lambda d: None)
    with pytest.raises(ValueError, match='lacks'):
        load(lambda d: d['languages'].pop('vi'))
    with pytest.raises(ValueError, match='fallback_language'):
        load(lambda d: d['languages']['km'].update(fallback_language='fil'))
    with pytest.raises(ValueError, match='mode'):
        load(lambda d: d['languages']['vi'].update(mode='loud'))
    with pytest.raises(ValueError, match='languages.vi.speed: unknown key'):
        load(lambda d: d['languages']['vi'].update(speed=3))
    with pytest.raises(ValueError, match='languages.xx'):
        load(lambda d: d['languages'].update(xx={'voice': 'en-us'}))
    with pytest.raises(ValueError, match='languages.my.rate_wpm'):
        load(lambda d: d['languages']['my'].update(rate_wpm=1000))
    with pytest.raises(ValueError, match='default_rate_wpm'):
        load(lambda d: d.update(default_rate_wpm='fast'))
    with pytest.raises(ValueError, match='needs a voice'):
        load(lambda d: d['languages']['vi'].update(voice=None))
    with pytest.raises(ValueError, match='cannot read'):
        VoiceTable.load(tmp_path / 'missing.yaml', phrasebook=pb)


def test_burmese_clauses_are_cut_short(pb):
    text = pb.say('offer_help', 'my').text
    shaped = myanmar_for_speech(text)
    assert '၊' not in shaped and '။' not in shaped
    assert shaped.replace(',', '').replace('.', '').replace(' ', '') == \
        text.replace('၊', '').replace('။', '').replace(' ', '')   # nothing lost, only clause marks added
    for clause in re.split(r'[,.!?]', shaped):
        assert len(re.findall(r'(?<!\u1039)[\u1000-\u102A](?![\u103A\u1039])', clause)) <= 10, clause
