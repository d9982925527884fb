"""The screen bridge's staff banner state: ScreenCard.staff becomes the state frame's `staff`, sent with the
card when it changes, and replayed to a page that (re)connects."""
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.messages import ScreenCard
from caexpo_robot.screen.bridge import ScreenBridge


def states(frames):
    return [f['staff'] for f in frames if f['type'] == 'state']


def test_the_card_staff_becomes_the_state_frame_when_it_changes():
    b = ScreenBridge(Phrasebook.load())
    assert states(b.on_card(ScreenCard(t=1.0, kind='attract'))) == []                     # no change: no state
    assert states(b.on_card(ScreenCard(t=2.0, kind='attract', staff='watching'))) == ['watching']
    assert states(b.on_card(ScreenCard(t=3.0, kind='listening', visitor='v1', staff='watching'))) == []
    assert states(b.on_card(ScreenCard(t=4.0, kind='answer', visitor='v1', text='x', staff='speaking'))) == ['speaking']
    assert states(b.snapshot()) == ['speaking']                 # a page connecting now sees the banner
    assert states(b.on_speaking(True)) == ['speaking']          # the speaking state keeps it
    assert states(b.on_card(ScreenCard(t=5.0, kind='listening', visitor='v1'))) == [None]
    assert states(b.snapshot()) == [None]
