"""The dialogue's outputs as the messages other nodes read: one place maps each action to its message.

`Say` → SpeakRequest, `Cancel` → CancelSpeech, `Emit` → InteractionEvent, `StartConversation` →
ConversationStarted, `Show` → ScreenCard (latched: a page that connects late shows the current card).
`Ask` and `EndVisit` stay inside the robot (assistant_turns.py). Pure: no rclpy.
"""
from __future__ import annotations

from caexpo_robot.dialogue.interaction import Cancel, Emit, Say, Show, StartConversation
from caexpo_robot.messages import (
    CancelSpeech,
    ConversationStarted,
    InteractionEvent,
    Message,
    ScreenAction,
    ScreenCard,
    SpeakRequest,
    UtteranceTag,
)

# Every message the dialogue publishes (the node advertises them at start so subscribers find them).
OUTPUTS = (SpeakRequest, CancelSpeech, InteractionEvent, ConversationStarted, ScreenCard)


def as_message(action: Say | Cancel | Emit | StartConversation | Show, now: float) -> Message:
    """The message for `action`; pydantic's ValidationError if the dialogue produced a bad value (a bug)."""
    if isinstance(action, Say):
        return SpeakRequest(id=action.id, text=action.text, language=action.language, priority=action.priority,
                            tag=UtteranceTag(**action.tag), interrupt=action.interrupt)
    if isinstance(action, Cancel):
        return CancelSpeech(id=action.id)
    if isinstance(action, StartConversation):
        return ConversationStarted(t=round(now, 4), visitor=action.visitor, language=action.language,
                                   expected=list(action.expected))
    if isinstance(action, Show):
        return ScreenCard(t=round(now, 4), kind=action.kind, visitor=action.visitor, language=action.language,
                          languages=list(action.languages), text=action.text, actions=_screen_actions(action.actions),
                          can_hear=action.can_hear, staff=action.staff)
    if isinstance(action, Emit):
        fields = {key: value for key, value in action.fields.items() if value is not None}
        fields.setdefault('t', round(now, 4))
        if 'actions' in fields:
            fields['actions'] = _screen_actions(fields['actions'])
        return InteractionEvent(type=action.type, **fields)
    raise TypeError(f'no message for {type(action).__name__}')


def _screen_actions(actions) -> list[ScreenAction]:
    return [a if isinstance(a, ScreenAction) else ScreenAction.model_validate(a) for a in actions]
