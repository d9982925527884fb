"""The shipped seed data: every name in all 11 languages, place kinds, facts pointing at the right kind of
place, the exhibits file's validation, ASCII digits in every script."""
import re

import pytest

from caexpo_assistant.catalog import PLACE_FACT_KINDS, PLACE_FACTS, PLACE_KINDS, SeedError, load_seed_folder
from caexpo_assistant.paths import data_path
from caexpo_robot.language.languages import LANGUAGES
from seed_files import copy_seed, rewrite


@pytest.fixture(scope='module')
def seed():
    return load_seed_folder(data_path('seed'))


def names_of(seed):
    """(where, names map) of everything the assistant names to a visitor."""
    yield 'expo.names', seed['expo']['names']
    yield 'expo.venue', seed['expo']['venue']
    for pid, place in seed['places'].items():
        yield f'places.{pid}', place['names']
    for eid, entrance in seed['entrances'].items():
        yield f'entrances.{eid}', entrance['names']
    for code, country in seed['countries'].items():
        yield f'countries.{code}', country['names']
    for event in seed['events']:
        yield f'events.{event["id"]}', event['titles']
    for exhibit in seed['exhibits']:
        yield f'exhibits.{exhibit["id"]}', exhibit['names']


def test_every_name_is_given_in_all_11_languages(seed):
    missing = [(where, sorted(set(LANGUAGES) - set(names))) for where, names in names_of(seed)
               if set(LANGUAGES) - set(names)]
    assert missing == []
    blank = [(where, code) for where, names in names_of(seed) for code, text in names.items() if not text.strip()]
    assert blank == []


def test_names_use_ascii_digits_only(seed):
    # Burmese ၁၀, Khmer ១០, Thai ๑๐, Lao ໑໐ ... are one way too many: data and replies use 0-9
    other_digits = [(where, code, text) for where, names in names_of(seed) for code, text in names.items()
                    if any(ch.isdecimal() and not ch.isascii() for ch in text)]
    assert other_digits == []


def test_the_expo_and_its_announced_things_are_in_the_data(seed):
    ids = {e['id'] for e in seed['exhibitors']}
    assert {'huawei', 'alibaba-cloud', 'qianxin', 'iflytek'} <= ids
    assert all(e['hall'] == 'ai_zone' and e['country'] == 'CN' and e['booth'].startswith('D3-')
               for e in seed['exhibitors'] if e['id'] in {'huawei', 'alibaba-cloud', 'qianxin', 'iflytek'})
    local = {e['id']: e['names'].get('zh', '') for e in seed['exhibitors']}
    assert '华为' in local['huawei'] and '阿里云' in local['alibaba-cloud']
    assert '奇安信' in local['qianxin'] and '科大讯飞' in local['iflytek']
    events = {e['id']: e for e in seed['events']}
    assert (events['ai-ministerial-forum']['day'], events['ai-ministerial-forum']['start'],
            events['ai-ministerial-forum']['place']) == ('2025-09-18', '10:00', 'convention_hall')
    assert (events['fta3-dialogue']['day'], events['fta3-dialogue']['start'],
            events['fta3-dialogue']['place']) == ('2025-09-19', '14:00', 'forum_room_2')
    exhibits = {e['id']: e for e in seed['exhibits']}
    assert set(exhibits) == {'change5-lunar-soil', 'xuelong2-model', 'jiaolong-model'}
    assert {e['place'] for e in exhibits.values()} == {'science_pavilion'}
    assert '嫦娥五号' in exhibits['change5-lunar-soil']['aliases']['zh']
    assert '雪龙2号' in exhibits['xuelong2-model']['aliases']['zh']
    assert '蛟龙号' in exhibits['jiaolong-model']['aliases']['zh']
    assert all(set(e) == {'id', 'names', 'aliases', 'place', 'booth', 'description'} for e in exhibits.values())


def test_place_kinds_are_known_and_the_services_exist(seed):
    places = seed['places']
    assert all(p['kind'] in PLACE_KINDS for p in places.values()), [p for p in places if not places[p]['kind']]
    toilets = {pid for pid, p in places.items() if p['kind'] == 'toilet'}
    assert toilets == {'toilet_zone_a', 'toilet_zone_b', 'toilet_zone_c', 'toilet_ai_zone', 'toilet_convention_1f',
                       'toilet_convention_2f', 'toilet_south_square'}
    # one per exhibition hall, and one on each floor of the convention center
    assert {places[t]['hall'] for t in toilets} >= {'A', 'B', 'C', 'D', 'Convention Center', 'South Square'}
    assert {places[t]['floor'] for t in toilets if places[t]['hall'] == 'Convention Center'} == {1, 2}
    kinds = {pid: p['kind'] for pid, p in places.items()}
    assert {k: kinds[k] for k in ('atm_service_center', 'atm_zone_b', 'charging_service_center', 'charging_ai_zone',
                                  'luggage_storage', 'smoking_area_south', 'smoking_area_east', 'taxi_stand',
                                  'metro_station', 'science_pavilion')} == {
        'atm_service_center': 'atm', 'atm_zone_b': 'atm', 'charging_service_center': 'charging',
        'charging_ai_zone': 'charging', 'luggage_storage': 'luggage', 'smoking_area_south': 'smoking',
        'smoking_area_east': 'smoking', 'taxi_stand': 'taxi', 'metro_station': 'metro',
        'science_pavilion': 'exhibit_area'}
    assert places['science_pavilion']['hall'] == 'S'


def test_the_nearest_toilet_to_entrance_a_is_on_the_south_square(seed):
    a = seed['entrances']['entrance_a']
    same_floor = [(pid, p) for pid, p in seed['places'].items() if p['kind'] == 'toilet' and p['floor'] == a['floor']]
    nearest = min(same_floor, key=lambda item: (item[1]['x'] - a['x']) ** 2 + (item[1]['y'] - a['y']) ** 2)
    assert nearest[0] == 'toilet_south_square'


def test_every_place_fact_names_a_place_of_the_right_kind(seed):
    assert {'atm', 'charging', 'luggage', 'smoking', 'taxi', 'metro'} <= set(PLACE_FACTS)
    for key in PLACE_FACTS:
        place = seed['facts'][f'{key}_place']
        assert seed['places'][place]['kind'] == PLACE_FACT_KINDS[key], (key, place)


def test_toilet_words_visitors_use_are_aliases(seed):
    aliases = seed['places']['toilet_zone_a']['aliases']
    expected = {'vi': ['nhà vệ sinh', 'wc'], 'fil': ['cr', 'comfort room', 'banyo'], 'ms': ['tandas', 'bilik air'],
                'id': ['toilet', 'kamar kecil'], 'ko': ['화장실'], 'zh': ['洗手间', '厕所', '卫生间']}
    for code, words in expected.items():
        assert set(words) <= set(aliases[code]), code
    for pid, place in seed['places'].items():
        if place['kind'] == 'toilet':
            assert set(LANGUAGES) <= set(place['aliases']), pid


def test_new_tags_have_terms_in_all_11_languages(seed):
    for tag in ('cloud_computing', 'cybersecurity', 'speech_ai', 'telecom'):
        terms = seed['tags'][tag]['terms']
        assert set(LANGUAGES) <= set(terms) and all(terms[code] for code in LANGUAGES), tag
    assert '网络安全' in seed['tags']['cybersecurity']['terms']['zh']
    assert 'network security' in seed['tags']['cybersecurity']['terms']['en']


# -- the exhibits file's validation -----------------------------------------------------------------

@pytest.mark.parametrize('change,message', [
    (lambda d: d['exhibits'][1].update(place='moon_base'), "exhibits.yaml xuelong2-model: unknown place 'moon_base'"),
    (lambda d: d['exhibits'][2].update(id='change5-lunar-soil'), 'exhibits.yaml item 3: id .* malformed or repeated'),
    (lambda d: d['exhibits'][0].update(id='Chang E 5'), 'exhibits.yaml item 1: id .* malformed or repeated'),
    (lambda d: d['exhibits'][0]['names'].pop('en'), r'exhibits\.yaml: exhibits\.0\.names'),
    (lambda d: d['exhibits'][0]['aliases'].update(xx=['moon']),
     r'exhibits\.yaml: exhibits\.0\.aliases.*unknown language'),
    (lambda d: d['exhibits'][0].update(hall='science_pavilion'), r'exhibits\.yaml: exhibits\.0\.hall: unknown key'),
])
def test_a_bad_exhibit_is_refused_naming_the_file_and_the_item(tmp_path, change, message):
    folder = copy_seed(tmp_path)
    rewrite(folder / 'exhibits.yaml', change)
    with pytest.raises(SeedError, match=message):
        load_seed_folder(folder)


def test_a_seed_folder_without_exhibits_has_none(tmp_path):
    folder = copy_seed(tmp_path)
    (folder / 'exhibits.yaml').unlink()
    assert load_seed_folder(folder)['exhibits'] == []


@pytest.mark.parametrize('change,message', [
    (lambda d: d['places']['toilet_zone_a'].update(kind='bathroom'), r'places\.toilet_zone_a\.kind'),
    (lambda d: d['facts'].update(atm_place='toilet_zone_a'), "facts.atm_place: place 'toilet_zone_a' is a toilet"),
    (lambda d: d['facts'].pop('metro_place'), r'facts\.metro_place'),
])
def test_place_kinds_and_facts_are_checked(tmp_path, change, message):
    folder = copy_seed(tmp_path)
    rewrite(folder / 'venue.yaml', change)
    with pytest.raises(SeedError, match=message) as error:
        load_seed_folder(folder)
    assert 'venue.yaml' in str(error.value)


def test_seed_files_keep_ascii_digits_in_every_text(seed):
    # beyond names: aliases, terms and descriptions too (one way of writing numbers per script)
    text = repr(seed)
    assert not re.search(r'[\u0e50-\u0e59\u0ed0-\u0ed9\u1040-\u1049\u17e0-\u17e9]', text)
