"""The command line: exit codes an operator or a unit file can rely on."""

from __future__ import annotations

from pathlib import Path

import pytest

from rig_agent.cli import main


@pytest.mark.parametrize("argv", [[], ["bogus"], ["run"], ["check", "--timeout", "x"]])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    assert main(argv) == 2


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out


def test_invalid_config_exits_2_and_lists_each_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rig.toml"
    path.write_text('rig_id = "r"\nbogus = 1\n[mqtt]\nurl = "mqtt://h"\n')
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: invalid configuration" in err
    assert "  bogus: unknown key" in err and "  channels: required key is missing" in err
