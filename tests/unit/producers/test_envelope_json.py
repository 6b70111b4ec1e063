"""The relay's JSON writer (orjson, the standard library where orjson refuses) against the
standard library's compact, non-ASCII-escaped form that envelopes were first written in."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from leadflow.producers.envelope import to_json

STDLIB = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def values(floats: bool) -> st.SearchStrategy[Any]:
    scalars = st.none() | st.booleans() | st.integers() | st.text()
    if floats:
        scalars |= st.floats(allow_nan=False, allow_infinity=False)
    return st.recursive(
        scalars, lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner), max_leaves=25
    )


def stdlib(value: Any) -> bytes | None:
    try:
        return STDLIB.encode(value).encode()
    except UnicodeEncodeError:  # a lone surrogate: no UTF-8 text at all, either way
        return None


@settings(max_examples=500)
@given(values(floats=False))
def test_the_same_bytes_as_the_standard_library(value: Any) -> None:
    expected = stdlib(value)
    if expected is not None:
        assert to_json(value) == expected


@settings(max_examples=500)
@given(values(floats=True))
def test_the_same_value_when_floats_are_written_shorter(value: Any) -> None:
    # orjson may write a float in another (shortest round-trip) notation: 1e-05 as 0.00001.
    if stdlib(value) is not None:
        assert json.loads(to_json(value)) == value


def test_integers_beyond_64_bits_fall_back_to_the_standard_library() -> None:
    value = {"n": 2**70, "m": -(2**80), "s": "ü"}
    assert to_json(value) == STDLIB.encode(value).encode()
