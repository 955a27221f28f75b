"""Settings: what `enrolment run` leaves in the data directory reaches every other command."""
from dataclasses import fields
from pathlib import Path

import pytest

from service.config import KEY_FILE, STACK_FILE, Settings, env_name


def test_commands_find_the_running_stack_and_its_key_in_the_data_dir(tmp_path):
    (tmp_path / STACK_FILE).write_text("DATABASE_URL=postgresql://u:p@127.0.0.1:5555/d?x=1\nAPI_PORT=8123\n# note\n")
    (tmp_path / KEY_FILE).write_text("k" * 64 + "\n")
    s = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert s.database_url == "postgresql://u:p@127.0.0.1:5555/d?x=1"  # '=' in a value survives
    assert s.api_port == 8123 and s.pseudonym_key == "k" * 64


def test_the_environment_wins_over_the_data_dir(tmp_path):
    (tmp_path / STACK_FILE).write_text("API_PORT=8123\n")
    (tmp_path / KEY_FILE).write_text("from-file")
    s = Settings.from_env({"DATA_DIR": str(tmp_path), "API_PORT": "9000", "PSEUDONYM_KEY": "from-env"})
    assert s.api_port == 9000 and s.pseudonym_key == "from-env"


def test_the_runner_reads_only_the_environment(tmp_path):
    # A stopped stack's file must never make the runner skip starting its own servers.
    (tmp_path / STACK_FILE).write_text("DATABASE_URL=postgresql://gone:1/x\n")
    assert Settings.from_env({"DATA_DIR": str(tmp_path)}, running_stack=False).database_url == ""


def _every_setting_changed() -> Settings:
    changed = {}
    for f in fields(Settings):
        value = getattr(Settings(), f.name)
        if f.name != "extra":
            changed[f.name] = (Path("/elsewhere") if isinstance(value, Path) else
                               value + 7 if isinstance(value, (int, float)) else f"{value}-x")
    return Settings(**changed)


def test_every_setting_goes_through_the_environment_and_back():
    s = _every_setting_changed()
    assert Settings.from_env(s.to_env(), running_stack=False) == s
    assert set(s.to_env()) == {env_name(f.name) for f in fields(Settings) if f.name != "extra"}


def test_the_variable_names_are_the_published_ones():
    # docker-compose.yml, .env files and the docs use these names.
    assert env_name("database_url") == "DATABASE_URL" and env_name("publish_timeout_s") == "PUBLISH_TIMEOUT_S"
    with pytest.raises(KeyError):
        env_name("extra")


@pytest.mark.parametrize("name, raw, expected", [
    ("API_PORT", "", 8000), ("API_PORT", "9001", 9001), ("PUBLISH_TIMEOUT_S", "", 5.0),
    ("PUBLISH_TIMEOUT_S", "1.5", 1.5), ("EVENTS_TOPIC", "", ""), ("DATA_DIR", "/d", Path("/d")),
])
def test_empty_numbers_mean_the_default_and_values_take_the_defaults_type(name, raw, expected):
    value = getattr(Settings.from_env({name: raw}, running_stack=False), name.lower())
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("name, raw, says", [("API_PORT", "80.5", "must be an integer"),
                                             ("RELAY_GRACE_S", "soon", "must be a number")])
def test_a_malformed_number_names_the_variable(name, raw, says):
    with pytest.raises(ValueError, match=f"^{name} {says}, got '{raw}'"):
        Settings.from_env({name: raw}, running_stack=False)
