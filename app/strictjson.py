"""Strict JSON for inbound records (CONTRACT 3.4, 9): the JSON of RFC 8259 and nothing that
Python's `json` lets through besides, with every refusal worded for a person.

Python's `json.loads` takes NaN and Infinity, turns `1e999` into `inf`, keeps the last of two
equal keys, raises a bare ValueError for integers over 4,300 digits and lets `"\\ud800"`
(a lone surrogate, not text) and `"\\u0000"` (which PostgreSQL cannot store) through. Here:

* `loads` refuses what makes the whole text unreadable (not UTF-8, a BOM, bad syntax,
  nesting too deep for the parser) by raising `JsonFlaw`;
* flaws inside one value (duplicate keys, out-of-range numbers) are parsed into
  `Flaw` markers instead, so that one bad item of a batch does not sink the others
  (NaN and Infinity are not JSON's grammar: a syntax error);
* `check` raises `JsonFlaw` for the first marker, a nesting over `MAX_DEPTH`, a lone
  surrogate or a NUL character in any string or key.

Reasons never quote the input: it may be personal data or megabytes long.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

MAX_DEPTH = 32
MAX_INT_DIGITS = 100


class JsonFlaw(ValueError):
    """The text or value is not acceptable JSON; `reason` completes "the record ..."."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Flaw:
    """Stands in for a value that was parsed but is not acceptable."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


_NON_FINITE = Flaw("has NaN or Infinity, which JSON does not allow")
_OUT_OF_RANGE = Flaw("has a number too large for a 64-bit float")
_LONG_INT = Flaw(f"has an integer of more than {MAX_INT_DIGITS} digits")


def _constant(_: str) -> Flaw:
    # Not a number JSON has at all: a syntax error for the whole text, like any other.
    raise JsonFlaw(f"is not valid JSON: {_NON_FINITE.reason}")


_made = 0  # markers made (the rare path): lets needs_check skip walking flawless values


_made_lock = threading.Lock()


def _flaw(flaw: Flaw) -> Flaw:
    global _made
    with _made_lock:  # `+=` is not atomic across threads: a lost count could skip a check
        _made += 1
    return flaw


def _float(text: str) -> float | Flaw:
    value = float(text)
    return value if math.isfinite(value) else _flaw(_OUT_OF_RANGE)


def _int(text: str) -> int | Flaw:
    # Checked before int(): Python refuses over 4,300 digits with a message for programmers.
    if len(text) - text.startswith("-") > MAX_INT_DIGITS:
        return _flaw(_LONG_INT)
    return int(text)


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any] | Flaw:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return _flaw(
                Flaw(f"has the key {key!r} twice" if _shown(key) else "has a key twice")
            )
        seen.add(key)
    raise AssertionError("unreachable: a dict shorter than its pairs has a repeated key")


def _shown(key: str) -> bool:
    # Field names are shown to help; anything else (an email used as a key) is not echoed.
    return key.isascii() and key.replace("_", "").replace("-", "").isalnum() and len(key) <= 40


def loads(raw: bytes | str) -> Any:
    """Parses strict UTF-8 JSON; may return `Flaw` markers inside (see `check`)."""
    if isinstance(raw, bytes):
        try:
            # Not json.loads(bytes): that would guess UTF-16/32 from the first bytes.
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise JsonFlaw("is not valid UTF-8") from None
    else:
        text = raw
    if text.startswith("\ufeff"):
        raise JsonFlaw("starts with a byte order mark (BOM); send UTF-8 without one")
    try:
        return json.loads(
            text,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
            object_pairs_hook=_object,
        )
    except RecursionError:
        raise JsonFlaw(f"is nested deeper than {MAX_DEPTH} levels") from None
    except JsonFlaw:
        raise
    except ValueError as e:
        # JSONDecodeError says where (line, column, char), never what.
        raise JsonFlaw(f"is not valid JSON: {str(e)[:200]}") from None


def flaws_made() -> int:
    """How many markers the parser has made in this process so far (see `needs_check`)."""
    return _made


def needs_check(raw: bytes | str, made_before: int) -> bool:
    """Whether `check` can find anything in what `loads(raw)` returned, given `flaws_made()`
    before it. Yes when a marker was made since (by any thread: a check in vain is safe), the
    text has a `\\u` escape (in strict UTF-8 the only way to a NUL or a lone surrogate in a
    string; a `str` given directly must be ASCII to say so) or more brackets than MAX_DEPTH.
    Saves the walk for the usual record."""
    if _made != made_before:
        return True
    if isinstance(raw, bytes):
        return b"\\u" in raw or raw.count(b"{") + raw.count(b"[") > MAX_DEPTH
    return (
        not raw.isascii() or "\\u" in raw or raw.count("{") + raw.count("[") > MAX_DEPTH
    )


def _string_flaw(text: str) -> str | None:
    if "\x00" in text:
        return "has a NUL character (\\u0000) in a string"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "has a lone surrogate (\\ud800-\\udfff) in a string, which is not text"
    return None


def check(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raises `JsonFlaw` for the first thing in `value` that is not acceptable JSON."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, Flaw):
            raise JsonFlaw(item.reason)
        if isinstance(item, str):
            flaw = _string_flaw(item)
            if flaw:
                raise JsonFlaw(flaw)
        elif isinstance(item, float) and not math.isfinite(item):
            raise JsonFlaw(_NON_FINITE.reason)
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise JsonFlaw(f"is nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    flaw = _string_flaw(key) if isinstance(key, str) else None
                    if flaw:
                        raise JsonFlaw(flaw)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
