"""`saas-warehouse query --format table`: a value is shown, never obeyed by the terminal."""

from __future__ import annotations

import pytest

from saas_warehouse_cli import main as cli
from saas_warehouse_cli.output import format_table


def test_table_shows_control_characters_escaped() -> None:
    values = ["\x1b]0;pwned\x07",  # sets the terminal's title
              "\x1b[2J",  # clears the screen
              "a\rb",  # returns the cursor: b would overwrite a
              "\x9b31m",  # the one-byte CSI (C1): red text
              "two\nlines",
              "\u202eevil"]  # right-to-left override: reorders what follows
    lines = format_table(["value", "n"], [[v, i] for i, v in enumerate(values)]).split("\n")
    assert lines == [
        r"value             n",
        r"----------------  -",
        r"\x1b]0;pwned\x07  0",
        r"\x1b[2J           1",
        r"a\rb              2",
        r"\x9b31m           3",
        r"two\nlines        4",
        r"\u202eevil        5",
    ]
    # A name can carry them too (`SELECT 1 AS "…"`).
    assert format_table(["\x1b[2J"], [[1]]).split("\n")[0] == r"\x1b[2J"


def test_table_aligns_by_displayed_width() -> None:
    # 日本 fills four terminal columns, as abcd does; é (e + a combining accent) one.
    assert format_table(["k", "v"], [["日本", "x"], ["abcd", "y"], ["e\u0301", "z"]]) == (
        "k     v\n"
        "----  -\n"
        "日本  x\n"
        "abcd  y\n"
        "e\u0301     z"
    )


def test_plain_values_are_unchanged() -> None:
    assert format_table(["tenant_id", "dau"], [["tnt_a", 12], ["tnt_bb", None]]) == (
        "tenant_id  dau\n"
        "---------  ---\n"
        "tnt_a       12\n"
        "tnt_bb"
    )


def test_an_error_line_shows_control_characters_escaped(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(action: str) -> None:  # a load error names a producer's file
        raise ValueError("not a readable Parquet file: \x1b]0;pwned\x07.parquet")

    monkeypatch.setattr(cli, "_sources", fail)
    assert cli.main(["sources"]) == 1
    assert capsys.readouterr().err == (
        r"error: not a readable Parquet file: \x1b]0;pwned\x07.parquet" "\n")
