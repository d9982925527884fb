"""The router's parts on their own: the shipped vector caches, the exemplars, and the conversation
moves the test set does not isolate (a clarifying question and its answer, yes/no to an offer)."""
from __future__ import annotations

import random

import numpy as np
import pytest

from caexpo_assistant.catalog import Catalog, load_seed_folder
from caexpo_assistant.paths import data_path
from caexpo_assistant.understanding import embeddings, retrieval
from caexpo_assistant.understanding.router import ROUTES
from caexpo_robot.language.languages import LANGUAGES
from understanding_set import SetRunner


@pytest.fixture(scope='module')
def runner():
    running = SetRunner()
    yield running
    running.close()


def test_the_shipped_exemplar_vectors_are_those_of_the_exemplar_files():
    # A stale file would make every server embed 4,500 sentences at start-up (about a minute); refresh
    # with `python -m caexpo_assistant.understanding.refresh`.
    texts, intents, languages = embeddings.read_exemplars(embeddings.exemplar_folder(), ROUTES)
    digest = embeddings.exemplar_digest(texts, intents, languages)
    vectors = embeddings.read_vectors(embeddings.exemplar_folder() / 'vectors.npz', digest, len(texts))
    assert vectors is not None, 'data/exemplars/vectors.npz is stale'
    # ... and they are this model's vectors of those sentences (float16 on disk)
    encoder = embeddings.Encoder()
    for row in random.Random(7).sample(range(len(texts)), 6):
        assert float(vectors[row] @ encoder.query(texts[row])) > 0.995, texts[row]


def test_the_shipped_catalog_vectors_are_those_of_the_packaged_seed():
    items = retrieval.passages(Catalog(load_seed_folder(data_path('seed')), {}))
    path = embeddings.exemplar_folder() / retrieval.SHIPPED
    assert embeddings.read_vectors(path, retrieval.passages_digest(items), len(items)) is not None


def test_every_language_has_fifteen_distinct_exemplars_for_every_intent():
    texts, intents, languages = embeddings.read_exemplars(embeddings.exemplar_folder(), ROUTES)
    for language in LANGUAGES:
        for intent in ROUTES:
            mine = {t.casefold() for t, i, lang in zip(texts, intents, languages, strict=True)
                    if lang == language and i == intent}
            assert len(mine) >= 15, (language, intent, len(mine))


def test_an_unknown_intent_in_an_exemplar_file_is_refused(tmp_path):
    (tmp_path / 'en.yaml').write_text('language: en\nintents:\n  toilets: [where is the loo]\n', encoding='utf-8')
    with pytest.raises(ValueError, match='unknown intents'):
        embeddings.read_exemplars(tmp_path, ROUTES)


def test_a_single_word_that_fits_two_functions_gets_one_question_and_its_answer_is_used(runner):
    session = runner.session('en')
    asked = runner.turn(session, 'halal', 'en')
    assert asked['intent'] == 'clarify' and set(asked['topic'].split('|')) == {'food', 'matchmaking'}
    assert asked['reply'].endswith('?') and asked['actions'] == []
    answer = runner.turn(session, 'the suppliers please', 'en')
    assert answer['intent'] == 'matchmaking'
    listed = {item['id'] for item in answer['actions'][0]['items']}
    assert listed == {'malaysia-halal-hub', 'brunei-halal-foods'}
    session = runner.session('en')
    assert runner.turn(session, 'coffee', 'en')['intent'] == 'clarify'
    assert runner.turn(session, 'somewhere to eat', 'en')['topic'] == 'food'


def test_yes_and_no_answer_the_offer_just_made(runner):
    session = runner.session('vi')
    found = runner.turn(session, 'tôi tìm công ty cà phê của Lào', 'vi')
    assert found['intent'] == 'matchmaking' and [i['id'] for i in found['actions'][0]['items']] == ['bolaven-coffee']
    slots = runner.turn(session, 'có ạ', 'vi')          # "yes" to "shall I book a meeting?"
    assert slots['intent'] == 'meeting_slots' and slots['actions'][0]['exhibitor_id'] == 'bolaven-coffee'
    session = runner.session('en')
    assert runner.turn(session, 'what is the meaning of life', 'en')['intent'] == 'unknown'
    declined = runner.turn(session, 'no thanks', 'en')     # "no" to "shall I call a member of staff?"
    assert declined['intent'] == 'small_talk' and 'anything else' in declined['reply']


def test_the_name_given_for_a_booking_is_never_kept_in_the_session_state(runner):
    session = runner.session('en')
    runner.turn(session, 'book Angkor Golden Rice at 10:30', 'en')
    booked = runner.turn(session, 'my name is Siti Rahman', 'en')
    assert booked['intent'] == 'meeting_booked'
    from caexpo_assistant import service
    state = service.get_session(runner.storage, session)
    assert 'Siti' not in repr(state['context']) and 'Siti' not in repr(state['visitor'])


def test_vectors_are_unit_length_and_the_encoder_cache_is_bounded():
    encoder = embeddings.Encoder(cache_size=3)
    for text in ('a', 'b', 'c', 'd'):
        assert abs(float(np.linalg.norm(encoder.query(text))) - 1.0) < 1e-3
    assert len(encoder._cache) == 3
