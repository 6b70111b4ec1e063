"""How the check compares an answer with the truth: exact counts and money, rates as
numbers, null only for null, rows missing or extra."""

from __future__ import annotations

from leadflow.simulate.check import compare_answer, same


def test_same() -> None:
    assert same(3, 3) and not same(3, 4)
    assert same(0.1 + 0.2, 0.3) and not same(0.3, 0.3001)
    assert not same(None, 0.0) and not same(0, None) and same(None, None)
    assert same("1250.00", "1250.00") and not same("1250.00", "1250.0")
    assert same("2025-01-27T10:00:00Z", "2025-01-27T12:00:00+02:00")
    assert not same("2025-01-27T10:00:00Z", "2025-01-27T10:00:01Z")
    assert not same(True, 1) and same(False, False)
    assert same({"a": 1}, {"a": 1}) and not same({"a": 1}, {"a": 2})


def test_compare_answer_names_each_difference() -> None:
    expect = {
        "by": "source",
        "rows": [
            {"key": "webinar", "leads": 3, "lead_to_mql": 1 / 3},
            {"key": "organic", "leads": 1, "lead_to_mql": None},
        ],
    }
    actual = {
        "query": {},
        "by": "source",
        "rows": [
            {"key": "webinar", "leads": 3, "lead_to_mql": 0.3333333333333333},
            {"key": "referral", "leads": 2, "lead_to_mql": 0.5},
        ],
    }
    diffs = compare_answer("rates", expect, actual)
    assert [(d.field, d.expected, d.actual) for d in diffs] == [
        ("rows[organic]", "row", "no row"),
        ("rows[referral]", "no row", "row"),
    ]
    funnel = {"stages": [{"stage": "mql", "count": 2, "median_days_from_previous": 1.5}]}
    got = {"stages": [{"stage": "mql", "count": 2, "median_days_from_previous": None}]}
    [d] = compare_answer("funnel", funnel, got)
    assert (d.field, d.expected, d.actual) == ("stages[mql].median_days_from_previous", 1.5, None)
