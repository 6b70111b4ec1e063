"""Identity rules: normalised emails, free-mail domains and account-name normalisation."""

from __future__ import annotations

import re
import unicodedata

from leadflow.domain.errors import InvalidInput

# A pragmatic address check: one @, a non-empty local part, a dotted domain, no spaces.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

FREE_MAIL_EXACT = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "live.com",
        "icloud.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "mail.ru",
        "qq.com",
        "163.com",
    }
)
# `yahoo.*` in the contract: the label followed by any suffix.
FREE_MAIL_PREFIXES = ("yahoo.", "hotmail.", "gmx.", "yandex.")

LEGAL_SUFFIXES = frozenset({"inc", "llc", "ltd", "gmbh", "corp", "co", "plc", "sa", "ag", "bv"})


def normalise_email(raw: str) -> str:
    """The identity of an email: stripped and lower-cased; raises InvalidInput if invalid."""
    email = raw.strip().lower()
    if len(email) > 320 or not _EMAIL_RE.match(email):
        raise InvalidInput("email is not a valid address")
    return email


def email_domain(email: str) -> str:
    return email.rsplit("@", 1)[1]


def is_free_mail(domain: str) -> bool:
    domain = domain.lower()
    return domain in FREE_MAIL_EXACT or domain.startswith(FREE_MAIL_PREFIXES)


def company_domain(email: str) -> str | None:
    """The email's domain when it can identify a company (never a free-mail one)."""
    domain = email_domain(email)
    return None if is_free_mail(domain) else domain


def normalise_company_name(name: str) -> str:
    """`"ACME, Inc."` and `"Acme Inc"` both give `acme` (CONTRACT 3.3)."""
    chars = [" " if unicodedata.category(ch)[0] in ("P", "S") else ch for ch in name.lower()]
    words = "".join(chars).split()
    while words and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)
