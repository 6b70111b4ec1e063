"""Which stored fields are personal data, per event type.

The persistence layer encrypts exactly these with the person's key, so that destroying the
key erases the person from an append-only history. Paths are dotted into nested dicts.
"""

from __future__ import annotations

PERSON_FIELDS = ("person.first_name", "person.last_name", "person.phone")

PERSONAL_FIELDS: dict[str, tuple[str, ...]] = {
    "LeadCaptured": ("email",),
    "EngagementRecorded": (*PERSON_FIELDS, "properties", "extra"),
    "LeadQualified": ("notes",),
    "LeadStatusChanged": ("reason",),
    "LeadConverted": ("email",),
    "ContactCreated": ("email", "profile.first_name", "profile.last_name", "profile.phone"),
    "ContactEmailAdded": ("email",),
    "ContactActivityRecorded": (*PERSON_FIELDS, "properties"),
    # An account named after a person (no company given) carries that person's name.
    "AccountCreated": ("name?named_after_person", "normalised_name?named_after_person"),
    "OpportunityLost": ("reason",),
}
