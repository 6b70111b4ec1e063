"""Errors of the consumers subpackage."""

from __future__ import annotations


class ConsumerError(Exception):
    """Base of the consumers' errors."""


class TransientError(ConsumerError):
    """The effect could not be made durable now (database briefly away); retry, never DLQ."""
