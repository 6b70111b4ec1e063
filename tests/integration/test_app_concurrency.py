"""Two OS processes racing on one database (a SQLite file, a PostgreSQL schema).

Each worker builds its own application on the test's database, then for every round signals
that it is ready and waits for a shared start file, so both act at the same moment. The
test then reads the store: exactly one conversion, one person per email, nothing half
written (CONTRACT 3.1, 3.3, 6).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from leadflow.application.commands import CommandContext
from leadflow.application.people import CONTACT, LEAD
from leadflow.config import LeadflowConfig
from leadflow.container import Leadflow, build
from leadflow.domain.account import Account
from leadflow.domain.errors import HierarchyCycle
from leadflow.domain.lead import Lead
from leadflow.schemas import parse_engagement
from leadflow.settings import DatabaseSettings, Settings

ROUNDS = 4

WORKER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from leadflow.application.commands import CommandContext
    from leadflow.config import load_config
    from leadflow.container import build
    from leadflow.domain.errors import DomainError
    from leadflow.schemas import parse_engagement
    from leadflow.settings import DatabaseSettings, Settings
    from uuid import UUID

    job = json.loads(Path(sys.argv[1]).read_text())
    db = dict(job["db"])
    if db["sqlite_path"]:
        db["sqlite_path"] = Path(db["sqlite_path"])
    sync = Path(job["sync"])
    name = job["name"]
    app = build(
        Settings(data_dir=Path(job["data_dir"]), database=DatabaseSettings(**db)), load_config()
    )
    (sync / f"built-{name}").touch()

    def act(action):
        if action["op"] == "convert":
            ctx = CommandContext.now(
                idempotency_key=action.get("key"),
                scope=action.get("scope", ""),
                fingerprint=action.get("fingerprint", ""),
            )
            return app.conversion.convert(UUID(action["lead_id"]), ctx)
        out = app.engagement.record([parse_engagement(p) for p in action["payloads"]])
        return {"accepted": out.accepted, "duplicates": out.duplicates,
                "captured": out.leads_captured, "lead_ids": out.lead_ids}

    results = []
    for i, action in enumerate(job["rounds"]):
        (sync / f"ready-{i}-{name}").touch()
        go = sync / f"go-{i}"
        deadline = time.monotonic() + 60
        while not go.exists():
            if time.monotonic() > deadline:
                raise SystemExit("no start signal")
            time.sleep(0.0005)
        try:
            results.append({"ok": act(action)})
        except DomainError as e:
            results.append({"error": type(e).__name__, "details": e.details})
    app.close()
    print(json.dumps(results))
    """
)


def race(
    tmp_path: Path, db: DatabaseSettings, rounds: dict[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """Runs one worker per entry of `rounds`; round i starts in all of them at once."""
    sync = tmp_path / f"sync-{time.monotonic_ns()}"
    sync.mkdir()
    script = sync / "worker.py"
    script.write_text(WORKER)
    dbd = asdict(db)
    dbd["sqlite_path"] = str(db.sqlite_path) if db.sqlite_path else None
    procs: dict[str, subprocess.Popen[str]] = {}
    try:
        for name, actions in rounds.items():
            job = sync / f"job-{name}.json"
            job.write_text(
                json.dumps(
                    {
                        "db": dbd,
                        "data_dir": str(tmp_path),
                        "sync": str(sync),
                        "name": name,
                        "rounds": actions,
                    }
                )
            )
            procs[name] = subprocess.Popen(
                [sys.executable, str(script), str(job)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            # Start-up (schema creation) one at a time; the race is in the rounds.
            wait_for(procs[name], sync / f"built-{name}")
        n = len(next(iter(rounds.values())))
        for i in range(n):
            for name, proc in procs.items():
                wait_for(proc, sync / f"ready-{i}-{name}")
            (sync / f"go-{i}").touch()
        results: dict[str, list[dict[str, Any]]] = {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-3000:]
            results[name] = json.loads(out.strip().splitlines()[-1])
        return results
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def wait_for(proc: subprocess.Popen[str], path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            _, err = proc.communicate()
            raise AssertionError(f"worker exited early: {err[-3000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {path.name}"
        time.sleep(0.002)


def payload(event_id: str, email: str, **kw: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "type": "form_submitted",
        "occurred_at": "2026-09-14T10:00:00Z",
        "email": email,
        "source": "web",
        **kw,
    }


def notifications(app: Leadflow) -> list[Any]:
    return list(app.store.app.recorder.select_notifications(start=1, limit=10000))


def kind(topic: str) -> str:
    return topic.rsplit(".", 1)[-1]


def new_leads(app: Leadflow, prefix: str) -> list[UUID]:
    ids = []
    for i in range(ROUNDS):
        email = f"{prefix}{i}@race{i}.com"
        out = app.engagement.record(
            [parse_engagement(payload(f"ev-{email}", email, person={"company": f"Race {i}"}))]
        )
        ids.append(UUID(out.lead_ids[f"ev-{email}"]))
    return ids


def test_two_processes_converting_one_lead_exactly_one_wins(
    app: Leadflow, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    leads = new_leads(app, "conv")
    before = {n.id for n in notifications(app)}
    rounds = [{"op": "convert", "lead_id": str(lead_id)} for lead_id in leads]
    results = race(tmp_path, db_settings, {"A": rounds, "B": rounds})

    winners: dict[UUID, dict[str, Any]] = {}
    for i, lead_id in enumerate(leads):
        pair = [results["A"][i], results["B"][i]]
        ok = [r["ok"] for r in pair if "ok" in r]
        refused = [r for r in pair if "error" in r]
        assert len(ok) == 1, pair
        assert [r["error"] for r in refused] == ["ConversionRefused"], pair
        # The refusal names what the winner made.
        assert refused[0]["details"]["contact_id"] == ok[0]["contact_id"]
        assert refused[0]["details"]["account_id"] == ok[0]["account_id"]
        winners[lead_id] = ok[0]

    new = [n for n in notifications(app) if n.id not in before]
    counts = Counter(kind(n.topic) for n in new)
    assert counts == Counter(
        {"LeadConverted": ROUNDS, "ContactCreated": ROUNDS, "AccountCreated": ROUNDS}
    ), counts
    # Every event written belongs to a winning conversion: nothing of a loser is left.
    by_kind: dict[str, set[str]] = {}
    for n in new:
        by_kind.setdefault(kind(n.topic), set()).add(str(n.originator_id))
    assert by_kind["LeadConverted"] == {str(i) for i in leads}
    assert by_kind["ContactCreated"] == {w["contact_id"] for w in winners.values()}
    assert by_kind["AccountCreated"] == {w["account_id"] for w in winners.values()}
    rows = app.store.side.query("SELECT account_id FROM {accounts}")
    assert {r[0] for r in rows} == by_kind["AccountCreated"]

    for i, lead_id in enumerate(leads):
        lead = app.store.get(lead_id, Lead)
        assert lead.status == "Converted"
        assert str((lead.conversion or {})["contact_id"]) == winners[lead_id]["contact_id"]
        ref = app.people.find(f"conv{i}@race{i}.com")
        assert ref is not None and ref.kind == CONTACT
        assert str(ref.id) == winners[lead_id]["contact_id"]


def test_two_processes_with_the_same_idempotency_key_get_one_answer(
    app: Leadflow, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    leads = new_leads(app, "idem")
    before = {n.id for n in notifications(app)}
    rounds = [
        {
            "op": "convert",
            "lead_id": str(lead_id),
            "key": f"key-{lead_id}",
            "scope": f"POST /leads/{lead_id}/convert",
            "fingerprint": "fp",
        }
        for lead_id in leads
    ]
    results = race(tmp_path, db_settings, {"A": rounds, "B": rounds})
    for i in range(ROUNDS):
        a, b = results["A"][i], results["B"][i]
        assert "ok" in a and "ok" in b, (a, b)
        assert a["ok"] == b["ok"]
    counts = Counter(kind(n.topic) for n in notifications(app) if n.id not in before)
    assert counts["LeadConverted"] == ROUNDS and counts["ContactCreated"] == ROUNDS


def test_two_processes_capturing_one_new_email_make_one_lead(
    app: Leadflow, db_settings: DatabaseSettings, tmp_path: Path
) -> None:
    # Even rounds: different event ids for one new email (both accepted, one lead).
    # Odd rounds: the same event id from both (accepted once).
    def rounds(name: str) -> list[dict[str, Any]]:
        out = []
        for i in range(2 * ROUNDS):
            email = f"Same{i}@Capture.com" if name == "A" else f" same{i}@capture.com"
            event_id = f"{name}-{i}" if i % 2 == 0 else f"shared-{i}"
            kind_of = "form_submitted" if name == "A" else "demo_requested"
            out.append({"op": "engage", "payloads": [payload(event_id, email, type=kind_of)]})
        return out

    results = race(tmp_path, db_settings, {"A": rounds("A"), "B": rounds("B")})
    notes = notifications(app)
    captured = Counter(kind(n.topic) for n in notes)
    assert captured["LeadCaptured"] == 2 * ROUNDS, captured
    assert captured["EngagementRecorded"] == ROUNDS * 2 + ROUNDS, captured

    for i in range(2 * ROUNDS):
        a, b = results["A"][i]["ok"], results["B"][i]["ok"]
        ref = app.people.find(f"same{i}@capture.com")
        assert ref is not None and ref.kind == LEAD
        lead = app.store.get(ref.id, Lead)
        assert a["captured"] + b["captured"] == 1, (a, b)
        if i % 2 == 0:
            assert (a["accepted"], b["accepted"]) == (1, 1)
            assert sorted(t.event_id for t in lead.touches) == [f"A-{i}", f"B-{i}"]
            assert lead.score == 10 + 30
        else:
            assert a["accepted"] + b["accepted"] == 1, (a, b)
            assert a["duplicates"] + b["duplicates"] == 1, (a, b)
            assert [t.event_id for t in lead.touches] == [f"shared-{i}"]
            assert lead.score in (10, 30)
        assert set(a["lead_ids"].values()) | set(b["lead_ids"].values()) == {str(lead.id)}


# --- deterministic interleavings: two applications (as two processes would be) on one
# database; the second's command is paused at a chosen point while the first commits.


def second_app(db_settings: DatabaseSettings, config: LeadflowConfig, tmp_path: Path) -> Leadflow:
    return build(Settings(data_dir=tmp_path, database=db_settings), config)


def test_same_key_committed_by_another_process_mid_command_is_replayed(
    app: Leadflow,
    db_settings: DatabaseSettings,
    config: LeadflowConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (lead_id,) = new_leads(app, "mid")[:1]
    other = second_app(db_settings, config, tmp_path)
    scope = f"POST /leads/{lead_id}/convert"

    def keyed() -> CommandContext:
        return CommandContext.now(idempotency_key="k", scope=scope, fingerprint="fp")

    answers: list[dict[str, Any]] = []
    real_find = other.store.find

    def find_after_the_first_commits(*args: Any, **kwargs: Any) -> Any:
        if not answers:
            answers.append(app.conversion.convert(lead_id, keyed()))
        return real_find(*args, **kwargs)

    monkeypatch.setattr(other.store, "find", find_after_the_first_commits)
    try:
        assert other.conversion.convert(lead_id, keyed()) == answers[0]
    finally:
        other.close()


def test_concurrent_parent_changes_cannot_make_a_cycle(
    app: Leadflow,
    db_settings: DatabaseSettings,
    config: LeadflowConfig,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = CommandContext.now
    a = UUID(app.accounts.create("A", None, None, now())["id"])
    b = UUID(app.accounts.create("B", None, None, now())["id"])
    other = second_app(db_settings, config, tmp_path)
    real_save = other.store.save
    done: list[bool] = []

    def save_after_the_first_commits(*args: Any, **kwargs: Any) -> None:
        if not done:
            done.append(True)
            app.accounts.set_parent(a, b, now())  # A under B commits first
        real_save(*args, **kwargs)

    monkeypatch.setattr(other.store, "save", save_after_the_first_commits)
    try:
        with pytest.raises(HierarchyCycle):
            other.accounts.set_parent(b, a, now())  # B under A: a cycle now
    finally:
        other.close()
    parents = {acc: app.store.get(acc, Account).parent_id for acc in (a, b)}
    assert not (parents[a] == b and parents[b] == a), parents
