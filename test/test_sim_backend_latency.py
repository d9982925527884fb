"""The simulator's model of the assistant's latency on the sim clock (sim/backend_latency.py)."""
from caexpo_robot.backend.client import AssistantReply
from caexpo_robot.sim.backend_latency import SimulatedBackendLatency


class InstantClient:
    """Answers at once, as the embedded assistant does in wall time."""
    def __init__(self):
        self.pending = []

    def ask(self, visitor_id, text, language, on_reply, on_filler):
        self.pending.append(lambda: on_reply(AssistantReply(text=f'answer to {text}', language=language,
                                                            intent='faq', actions=[], end_session=False,
                                                            source='backend', error=None, latency_s=0.001)))

    def answer_all(self):
        for answer in self.pending:
            answer()
        self.pending.clear()


def model(now, latency_s=0.4):
    client = InstantClient()
    backend = SimulatedBackendLatency(client, lambda: now[0], latency_s=latency_s, filler_after_s=1.2, deadline_s=3.0,
                                      filler_text=lambda lang: f'one moment ({lang})',
                                      canned_text=lambda lang: f'canned ({lang})')
    return client, backend


def test_the_reply_waits_for_its_latency_on_the_sim_clock_and_the_clock_waits_only_for_http():
    now, heard = [10.0], []
    client, backend = model(now)
    backend.ask('v', 'toilets?', 'vi', on_reply=heard.append, on_filler=lambda *a: heard.append(a))
    assert backend.in_flight == 1                 # the HTTP exchange: the sim clock must wait for it
    client.answer_all()
    assert backend.in_flight == 0 and backend.due() == 10.4 and not heard
    backend.tick(10.2)
    assert not heard
    backend.tick(10.4)
    assert [r.text for r in heard] == ['answer to toilets?'] and backend.due() is None


def test_a_slow_backend_gets_the_filler_then_the_answer_and_a_hanging_one_the_canned_answer():
    now, heard = [0.0], []
    client, backend = model(now)
    backend.next_latency_s = 2.0
    backend.ask('a', 'slow', 'th', on_reply=heard.append, on_filler=lambda text, lang: heard.append(text))
    backend.next_latency_s = 30.0
    backend.ask('b', 'hangs', 'ko', on_reply=heard.append, on_filler=lambda text, lang: heard.append(text))
    client.answer_all()
    assert backend.due() == 1.2
    backend.tick(1.2)
    assert heard == ['one moment (th)', 'one moment (ko)']
    backend.tick(2.0)
    assert heard[-1].text == 'answer to slow'
    assert backend.due() == 3.0
    backend.tick(3.0)
    assert (heard[-1].text, heard[-1].language, heard[-1].source) == ('canned (ko)', 'ko', 'canned')
    assert backend.due() is None
