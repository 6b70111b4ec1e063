"""Identity rules (CONTRACT 1, 3.3): email identity, free-mail domains, company names."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.domain.errors import InvalidInput
from leadflow.domain.identity import (
    company_domain,
    email_domain,
    is_free_mail,
    normalise_company_name,
    normalise_email,
)

SUFFIXES = {"inc", "llc", "ltd", "gmbh", "corp", "co", "plc", "sa", "ag", "bv"}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Ada.Lovelace@Example.com ", "ada.lovelace@example.com"),
        ("  BOB@EXAMPLE.ORG\t", "bob@example.org"),
        ("\nx+tag@sub.example.co.uk\n", "x+tag@sub.example.co.uk"),
        ("already@lower.io", "already@lower.io"),
    ],
)
def test_normalise_email_strips_and_lowercases(raw: str, expected: str) -> None:
    assert normalise_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "no-at-sign.example.com",
        "two@@example.com",
        "a@b@example.com",
        "@example.com",
        "local@",
        "local@nodot",
        "with space@example.com",
        "local@exa mple.com",
        "a" * 310 + "@example.com",
    ],
)
def test_normalise_email_rejects_invalid_addresses(raw: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_email(raw)


def test_invalid_email_is_a_422_kind_of_error() -> None:
    with pytest.raises(InvalidInput) as exc:
        normalise_email("nope")
    assert exc.value.code == "invalid_input"


@settings(max_examples=150)
@given(
    local=st.from_regex(r"[A-Za-z0-9._+-]{1,20}", fullmatch=True),
    domain=st.from_regex(r"[A-Za-z0-9-]{1,15}\.[A-Za-z]{2,6}", fullmatch=True),
    left=st.sampled_from(["", " ", "\t", "  \n"]),
    right=st.sampled_from(["", " ", "\t", "\r\n"]),
)
def test_normalised_email_is_strip_lower_and_idempotent(
    local: str, domain: str, left: str, right: str
) -> None:
    raw = f"{left}{local}@{domain}{right}"
    email = normalise_email(raw)
    assert email == raw.strip().lower()
    assert normalise_email(email) == email
    assert email_domain(email) == domain.lower()


@pytest.mark.parametrize(
    "domain",
    [
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "yahoo.co.uk",
        "yahoo.fr",
        "hotmail.com",
        "hotmail.de",
        "hotmail.co.uk",
        "outlook.com",
        "live.com",
        "icloud.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.de",
        "gmx.net",
        "mail.ru",
        "yandex.ru",
        "yandex.com",
        "qq.com",
        "163.com",
        "GMAIL.COM",
        "Yahoo.Co.Jp",
    ],
)
def test_free_mail_domains(domain: str) -> None:
    assert is_free_mail(domain)
    assert company_domain(f"someone@{domain.lower()}") is None


@pytest.mark.parametrize(
    "domain",
    [
        "example.com",
        "acme.io",
        "outlook.de",  # only outlook.com is listed
        "live.co.uk",  # only live.com is listed
        "mail.com",
        "notgmail.com",
        "gmail.company.com",
        "myyahoo.com",
        "protonmail.ch",
        "163.net",
    ],
)
def test_company_domains_are_not_free_mail(domain: str) -> None:
    assert not is_free_mail(domain)
    assert company_domain(f"someone@{domain}") == domain


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("ACME, Inc.", "acme"),
        ("Acme Inc", "acme"),
        ("acme", "acme"),
        ("Acme Co. Ltd.", "acme"),
        ("Acme Holdings GmbH & Co. KG", "acme holdings gmbh co kg"),
        ("Acme Corp., Inc., LLC", "acme"),
        ("Analytical Engines Ltd", "analytical engines"),
        ("  Big   Data   PLC  ", "big data"),
        ("Inc Acme", "inc acme"),  # only trailing suffixes are dropped
        ("Müller-Lüdenscheidt AG", "müller lüdenscheidt"),
        ("A+B=C™ S.A.", "a b c s a"),
        ("O'Reilly & Sons", "o reilly sons"),
        ("Société Générale SA", "société générale"),
        ("«Acme» Corp", "acme"),
        ("Acme€Plus$Co", "acme plus"),
        ("Inc.", ""),
        ("", ""),
    ],
)
def test_normalise_company_name(name: str, expected: str) -> None:
    assert normalise_company_name(name) == expected


def test_acme_variants_share_one_normalised_name() -> None:
    variants = ["ACME, Inc.", "Acme Inc", "acme inc.", "Acme, LLC", "ACME Corp.", "Acme BV"]
    assert {normalise_company_name(v) for v in variants} == {"acme"}


@settings(max_examples=150)
@given(st.text(max_size=40))
def test_normalised_company_name_is_canonical(name: str) -> None:
    out = normalise_company_name(name)
    assert out == out.strip()
    assert "  " not in out
    assert normalise_company_name(out) == out
    words = out.split(" ") if out else []
    assert not words or words[-1] not in SUFFIXES
    assert not any(unicodedata.category(ch)[0] in "PS" for ch in out)
