"""Projection fixtures: the bus tests' fresh topic set (by prefix) per test."""

from tests.integration.bus.conftest import topics

__all__ = ["topics"]
