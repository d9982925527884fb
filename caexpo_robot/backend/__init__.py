"""The robot's client of the expo assistant backend (pure Python; no rclpy) and the /v1 contract it shares
with the reference assistant (contract.py)."""
from .client import (
                     AssistantClient,
                     AssistantReply,
                     BackendError,
                     CircuitBreaker,
                     ClientClosed,
                     TurnHandle,
                     fallback_reply,
)

__all__ = ['AssistantClient', 'AssistantReply', 'BackendError', 'CircuitBreaker', 'ClientClosed', 'TurnHandle',
           'fallback_reply']
