"""leadflow.toml: defaults, overlays, and errors that name the key."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from leadflow.config import ConfigError, load_config
from leadflow.domain.assignment import Assignment
from leadflow.domain.scoring import FitRule
from leadflow.settings import Settings, SettingsError

CONTRACT_POINTS = {
    "form_submitted": 10,
    "email_opened": 1,
    "email_clicked": 3,
    "page_viewed": 1,
    "pricing_page_viewed": 5,
    "content_downloaded": 5,
    "webinar_attended": 15,
    "demo_requested": 30,
    "call_logged": 5,
    "unsubscribed": 0,
}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "leadflow.toml"
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as exc:
        load_config(path)
    message = str(exc.value)
    assert str(path) in message
    return message


def test_defaults() -> None:
    config = load_config()
    assert config.currency == "USD"
    assert config.mql_threshold == 50
    assert config.stuck_days == 14
    assert config.topic_partitions == 6
    assert config.points == CONTRACT_POINTS
    policy = config.scoring_policy()
    assert dict(policy.points) == CONTRACT_POINTS
    assert policy.mql_threshold == 50
    assert policy.fit_rules == ()
    assignment = config.assignment_policy()
    assert assignment.rules == ()
    assert assignment.decide({"country": "GB"}, lambda members: {}) is None


def test_file_only_needs_the_keys_it_changes(tmp_path: Path) -> None:
    path = write(tmp_path, "mql_threshold = 40\n[points]\ndemo_requested = 45\n")
    config = load_config(path)
    assert config.mql_threshold == 40
    assert config.points == {**CONTRACT_POINTS, "demo_requested": 45}
    assert config.currency == "USD"
    assert config.scoring_policy().points_for("demo_requested") == 45


def test_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "mql_threshold = 40\n")
    config = load_config(path, overrides={"mql_threshold": 70, "currency": "EUR"})
    assert config.mql_threshold == 70
    assert config.currency == "EUR"


def test_fit_rules_and_assignment_from_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[fit_rules]]
name = "target-industry"
field = "industry"
values = ["software", "fintech"]
points = 10

[[fit_rules]]
name = "big"
field = "company_size"
min = 100
points = 5

[[assignment.rules]]
name = "uk-to-emea"
match = { country = ["GB", "IE"] }
queue = "emea"

[[assignment.rules]]
name = "webinars"
match = { source = ["webinar"] }
owner = "wendy"

[assignment.queues]
emea = ["bob", "alice"]
""",
    )
    config = load_config(path)
    assert config.scoring_policy().fit_rules == (
        FitRule("target-industry", "industry", 10, ("software", "fintech"), None),
        FitRule("big", "company_size", 5, (), 100.0),
    )
    assignment = config.assignment_policy()
    assert [r.name for r in assignment.rules] == ["uk-to-emea", "webinars"]
    assert assignment.queues == {"emea": ("bob", "alice")}
    assert assignment.decide({"country": "GB"}, lambda m: {"alice": 1, "bob": 0}) == Assignment(
        "bob", "uk-to-emea", "emea"
    )
    assert assignment.decide({"source": "webinar"}, lambda m: {}) == Assignment(
        "wendy", "webinars", None
    )


def test_unknown_engagement_type_in_points(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[points]\nwebinar_attended = 15\ntweet_liked = 2\n")
    assert "points" in message
    assert "tweet_liked" in message


def test_negative_points(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[points]\nemail_opened = -1\n")
    assert "points" in message
    assert "email_opened" in message
    assert "negative" in message


def test_rule_naming_unknown_queue(tmp_path: Path) -> None:
    message = config_error(
        tmp_path,
        '[[assignment.rules]]\nname = "uk"\nqueue = "apac"\n[assignment.queues]\nemea = ["a"]\n',
    )
    assert "assignment" in message
    assert "'uk'" in message
    assert "'apac'" in message


def test_bad_toml(tmp_path: Path) -> None:
    message = config_error(tmp_path, "mql_threshold = = 3\n[points\n")
    assert "not valid TOML" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("mql_threshold = 0\n", "mql_threshold"),
        ('mql_threshold = "fifty"\n', "mql_threshold"),
        ('currency = "usd"\n', "currency"),
        ("stuck_days = -1\n", "stuck_days"),
        ("topic_partitions = 0\n", "topic_partitions"),
        ("mystery_key = 1\n", "mystery_key"),
        (
            '[[fit_rules]]\nname = "x"\nfield = "shoe_size"\nvalues = ["9"]\npoints = 1\n',
            "fit_rules",
        ),
        ('[[fit_rules]]\nname = "x"\nfield = "industry"\npoints = 1\n', "fit_rules"),
        ('[[fit_rules]]\nname = "x"\nfield = "industry"\nvalues = ["a"]\npoints = -3\n', "points"),
        ('[[assignment.rules]]\nname = "r"\nowner = "a"\nqueue = "q"\n', "assignment"),
        ('[[assignment.rules]]\nname = "r"\n', "assignment"),
        ('[[assignment.rules]]\nname = "r"\nmatch = {shoe = ["9"]}\nowner = "a"\n', "shoe"),
        ("[assignment.queues]\nemea = []\n", "emea"),
    ],
)
def test_invalid_values_name_the_key(tmp_path: Path, text: str, key: str) -> None:
    assert key in config_error(tmp_path, text)


# --- API keys: [[api_keys]] in leadflow.toml and LEADFLOW_API_KEYS (CONTRACT 9) -----------

PLAIN = "lf_" + "p" * 40
HASHED = hashlib.sha256(b"lf_another-key-of-enough-length").hexdigest()


def test_api_keys_from_the_file_are_kept_as_hashes_only(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'[[api_keys]]\nname = "crm"\nroles = ["sales", "analyst"]\nkey = "{PLAIN}"\n'
        f'[[api_keys]]\nname = "ops"\nroles = ["admin"]\nhash = "sha256:{HASHED.upper()}"\n',
    )
    config = load_config(path)
    keys = [k.api_key() for k in config.api_keys]
    assert [(k.name, k.roles, k.source) for k in keys] == [
        ("crm", {"sales", "analyst"}, "toml"),
        ("ops", {"admin"}, "toml"),
    ]
    assert keys[0].digest == hashlib.sha256(PLAIN.encode()).hexdigest()
    assert keys[1].digest == HASHED
    # The plain key is nowhere in what the configuration keeps, nor in its repr.
    assert PLAIN not in repr(config) and PLAIN not in config.model_dump_json()
    assert HASHED not in repr(config) and HASHED not in repr(keys)


@pytest.mark.parametrize(
    ("entry", "named", "reason"),
    [
        ('name = "a"\nroles = ["root"]\nkey = "{plain}"', "api_keys.0", "unknown role"),
        ('name = "a"\nroles = []\nkey = "{plain}"', "api_keys.0", "at least one role"),
        ('name = "a b"\nroles = ["admin"]\nkey = "{plain}"', "api_keys.0", "key name"),
        ('name = "a"\nroles = ["admin"]\nhash = "sha256:abc"', "api_keys.0", "64 hex"),
        ('name = "a"\nroles = ["admin"]\nhash = "{hashed}"', "api_keys.0", "sha256:"),
        ('name = "a"\nroles = ["admin"]\nkey = "short"', "api_keys.0", "at least 16"),
        ('name = "a"\nroles = ["admin"]', "api_keys.0", "exactly one of key or hash"),
        (
            'name = "a"\nroles = ["admin"]\nkey = "{plain}"\nhash = "sha256:{hashed}"',
            "api_keys.0",
            "exactly one of key or hash",
        ),
        ('name = "a"\nroles = ["admin"]\nkey = "{plain}"\nrole = "x"', "api_keys.0", "role"),
    ],
)
def test_a_bad_api_key_entry_names_the_key_and_reason_never_the_key(
    tmp_path: Path, entry: str, named: str, reason: str
) -> None:
    text = "[[api_keys]]\n" + entry.format(plain=PLAIN, hashed=HASHED)
    with pytest.raises(ConfigError) as e:
        load_config(write(tmp_path, text))
    message = str(e.value)
    assert named in message and reason in message, message
    assert PLAIN not in message and e.value.__cause__ is None


def test_an_api_key_name_twice_in_the_file_is_an_error(tmp_path: Path) -> None:
    entry = f'[[api_keys]]\nname = "a"\nroles = ["admin"]\nkey = "{PLAIN}"\n'
    with pytest.raises(ConfigError, match="api_keys: a key name appears twice"):
        load_config(write(tmp_path, entry + entry.replace(PLAIN, PLAIN + "x")))


def test_env_keys_in_the_compact_form() -> None:
    text = f" crm:sales+analyst:{PLAIN} , ops:admin:sha256:{HASHED} "
    keys = Settings.from_env({"LEADFLOW_API_KEYS": text}).api_keys
    assert [(k.name, k.roles, k.source) for k in keys] == [
        ("crm", {"sales", "analyst"}, "env"),
        ("ops", {"admin"}, "env"),
    ]
    assert keys[0].digest == hashlib.sha256(PLAIN.encode()).hexdigest()
    assert keys[1].digest == HASHED
    assert PLAIN not in repr(Settings.from_env({"LEADFLOW_API_KEYS": text}))


def test_env_keys_as_json() -> None:
    text = json.dumps(
        [
            {"name": "crm", "roles": ["sales"], "key": PLAIN},
            {"name": "ops", "roles": ["admin", "analyst"], "hash": HASHED},
        ]
    )
    keys = Settings.from_env({"LEADFLOW_API_KEYS": text}).api_keys
    assert [(k.name, k.roles, k.digest) for k in keys] == [
        ("crm", {"sales"}, hashlib.sha256(PLAIN.encode()).hexdigest()),
        ("ops", {"admin", "analyst"}, HASHED),
    ]


def test_no_env_keys() -> None:
    assert Settings.from_env({}).api_keys == ()
    assert Settings.from_env({"LEADFLOW_API_KEYS": "  "}).api_keys == ()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (f"crm:{PLAIN}", "entry 1: must be name:role1+role2:key"),
        (f"crm:sales:{PLAIN},ops:boss:{PLAIN}x", "entry 2: unknown role(s) ['boss']"),
        (f"crm:sales:{PLAIN},crm:admin:{PLAIN}x", "key name 'crm' appears twice"),
        ("crm:sales:tooshort", "at least 16"),
        ("crm:sales:sha256:zz", "64 hex digits"),
        ("[{", "not valid JSON"),
        ('{"name": "x"}', "must be name:role1+role2:key"),
        (json.dumps([{"name": "x", "roles": ["admin"]}]), "[0]: needs name"),
        (json.dumps([{"name": "x", "roles": "admin", "key": PLAIN}]), "[0]: needs name"),
        (json.dumps([{"name": "x", "roles": ["admin"], "key": PLAIN, "hint": 1}]), "[0]"),
    ],
)
def test_bad_env_keys_name_the_variable_and_entry_never_the_key(text: str, reason: str) -> None:
    with pytest.raises(SettingsError) as e:
        Settings.from_env({"LEADFLOW_API_KEYS": text})
    message = str(e.value)
    assert message.startswith("LEADFLOW_API_KEYS") and reason in message, message
    assert PLAIN not in message and "tooshort" not in message
