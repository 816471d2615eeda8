from pathlib import Path

import pytest

from grimnir.config.settings import Settings, load_settings
from grimnir.domain.errors import ConfigError


def test_defaults_are_embedded_and_under_the_data_dir(isolated_home: Path) -> None:
    settings = load_settings()
    data = isolated_home / ".local" / "share" / "grimnir"
    assert settings.data_dir == data
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{data / 'grimnir.db'}"
    assert settings.is_embedded_database
    assert settings.bus_url == "memory://"
    assert settings.media_dir == data / "media"
    assert settings.recordings_dir == data / "recordings"


def test_data_dir_from_env_moves_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRIMNIR_DATA_DIR", str(tmp_path / "station-b"))
    settings = load_settings()
    assert settings.resolved_database_url.endswith(str(tmp_path / "station-b" / "grimnir.db"))


def test_env_beats_file_and_file_beats_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "grimnir.yaml"
    file.write_text("bus_url: redis://127.0.0.1:6379/0\nlog_level: debug\n")
    settings = load_settings(file)
    assert settings.bus_url == "redis://127.0.0.1:6379/0"
    assert settings.log_level == "DEBUG"
    monkeypatch.setenv("GRIMNIR_BUS_URL", "nats://127.0.0.1:4222")
    assert load_settings(file).bus_url == "nats://127.0.0.1:4222"
    monkeypatch.setenv("GRIMNIR_SETTINGS_FILE", str(file))
    assert load_settings().log_level == "DEBUG"


def test_secrets_are_masked_when_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIMNIR_DATABASE_URL", "postgresql://grim:topsecret@127.0.0.1/radio")
    monkeypatch.setenv("GRIMNIR_BUS_URL", "redis://:redispw@127.0.0.1:6379/0")
    settings = load_settings()
    assert settings.resolved_database_url == "postgresql://grim:topsecret@127.0.0.1/radio"
    printed = repr(settings) + str(settings) + str(settings.display())
    assert "topsecret" not in printed
    assert "redispw" not in printed
    assert settings.display()["database_url"] == "postgresql://grim:***@127.0.0.1/radio"
    assert not settings.is_embedded_database


def test_unknown_key_in_file_suggests_the_right_one(tmp_path: Path) -> None:
    file = tmp_path / "grimnir.yaml"
    file.write_text("databse_url: sqlite:///x.db\n")
    with pytest.raises(ConfigError) as info:
        load_settings(file)
    assert info.value.problems == [
        f"{file} databse_url: unknown setting 'databse_url'; did you mean 'database_url'?"
    ]


def test_bad_values_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIMNIR_BUS_URL", "kafka://broker:9092")
    monkeypatch.setenv("GRIMNIR_LOG_LEVEL", "loud")
    with pytest.raises(ConfigError) as info:
        load_settings()
    text = "\n".join(info.value.problems)
    assert "GRIMNIR_BUS_URL: unknown bus scheme 'kafka'" in text
    assert "GRIMNIR_LOG_LEVEL:" in text


def test_broken_file_says_where(tmp_path: Path) -> None:
    file = tmp_path / "grimnir.yaml"
    file.write_text("bus_url: memory://\nlog_level: [unclosed\n")
    with pytest.raises(ConfigError, match=r"grimnir.yaml:\d+: not valid YAML"):
        load_settings(file)
    with pytest.raises(ConfigError, match="cannot read settings file"):
        load_settings(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- a\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(tmp_path / "list.yaml")


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.bus_url = "nats://x"  # type: ignore[misc]
