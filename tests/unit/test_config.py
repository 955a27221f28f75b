"""Settings: what `enrolment run` leaves in the data directory reaches every other command."""
from service.config import KEY_FILE, STACK_FILE, Settings


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
