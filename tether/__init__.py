"""Tether: a WebSocket service for Python built as an actor system on Trio."""

__version__ = "0.1.0"
