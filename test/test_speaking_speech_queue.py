"""The tts queue: priority order, FIFO within a priority, bounded, cancellable."""
from caexpo_robot.speaking.speech_queue import SpeechQueue


def test_highest_priority_first_then_arrival_order():
    q = SpeechQueue()
    q.push('a', 'one', 'en', 1)
    q.push('b', 'two', 'en', 1)
    q.push('c', 'urgent', 'en', 3)
    q.push('d', 'low', 'en', 0)
    assert [q.pop().id for _ in range(4)] == ['c', 'a', 'b', 'd']
    assert q.pop() is None


def test_capacity_refuses_instead_of_growing():
    q = SpeechQueue(capacity=2)
    assert q.push('a', 'x', 'en') and q.push('b', 'x', 'en')
    assert q.push('c', 'x', 'en') is None
    assert len(q) == 2


def test_cancel_by_id_everything_and_below_priority():
    q = SpeechQueue()
    for i, priority in enumerate([0, 1, 2, 3]):
        q.push(f'u{i}', 'x', 'en', priority)
    assert [i.id for i in q.cancel('u2')] == ['u2']
    assert sorted(i.id for i in q.cancel(below_priority=2)) == ['u0', 'u1']
    assert [i.id for i in q.cancel(everything=True)] == ['u3']
    assert len(q) == 0
