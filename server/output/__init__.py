"""Naming, atomic writing and provenance of every file the daemon writes."""
from .writer import OutputWriter

__all__ = ["OutputWriter"]
