"""The studio page and its JSON API: an HTTP front door (FastAPI on uvicorn) in the daemon's process.

Like the other front doors it only turns requests into engine calls and engine events into replies
(docs/HTTP.md). No torch here (tests/test_layering.py).
"""
from .door import WebDoor

__all__ = ["WebDoor"]
