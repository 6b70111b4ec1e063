"""Typed rule violations of the domain. The HTTP layer maps them to 404/409/422."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of every rule a command can break."""

    code = "domain_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class InvalidInput(DomainError):
    """The input itself is malformed (HTTP 422)."""

    code = "invalid_input"


class NotFound(DomainError):
    """An id names nothing (HTTP 404)."""

    code = "not_found"


class UnknownReference(DomainError):
    """An id given inside a command body names nothing (HTTP 422 naming it)."""

    code = "unknown_reference"


class RuleViolation(DomainError):
    """A business rule refuses the command (HTTP 409); nothing changed."""

    code = "conflict"


class QualificationRefused(RuleViolation):
    code = "qualification_refused"


class ConversionRefused(RuleViolation):
    code = "conversion_refused"


class StatusChangeRefused(RuleViolation):
    code = "status_change_refused"


class OutcomeAlreadyRecorded(RuleViolation):
    code = "outcome_already_recorded"


class HierarchyCycle(RuleViolation):
    code = "hierarchy_cycle"


class PersonExists(RuleViolation):
    """One person per email: the email already belongs to a lead or a contact."""

    code = "person_exists"
