"""Turning a library's exception into the one line a user reads."""

from __future__ import annotations


def describe(exc: BaseException) -> str:
    """The exception's text on one line, or its class name when it has no text."""
    return " ".join(str(exc).split()) or type(exc).__name__
