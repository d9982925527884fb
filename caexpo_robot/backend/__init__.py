"""The robot's client of the expo assistant backend (pure Python; no rclpy)."""
from .client import AssistantClient, AssistantReply, BackendError, CircuitBreaker, ClientClosed, TurnHandle

__all__ = ['AssistantClient', 'AssistantReply', 'BackendError', 'CircuitBreaker', 'ClientClosed', 'TurnHandle']
