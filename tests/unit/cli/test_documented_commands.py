"""Every `ztix …` command line in README.md and docs/ names a command that exists.

The lines are taken from code (inline spans and fenced blocks). Each is resolved against the
real command tree: words up to the first option or argument must be (sub)commands, a group
takes no arguments, and ``a | b`` lists siblings (``ztix users list | disable alice``). Each
command found is then run with ``--help``, which must succeed.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from tests.support.app import ROOT
from ztix.cli.main import app

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.M | re.S)
_SPAN = re.compile(r"`([^`\n]+)`")
# "ztix" as a command word: not part of a path, a module or a file name.
_ZTIX = re.compile(r"(?<![\w./-])ztix(?=\s)([^#;&()<>\n]*)")
_WORD = re.compile(r"[a-z][a-z0-9-]*")

ROOT_COMMAND: Any = typer.main.get_command(app)


def _is_group(node: Any) -> bool:
    return isinstance(getattr(node, "commands", None), dict)


def command_lines() -> list[tuple[str, str]]:
    """(file, command line) for every `ztix …` in code in the docs."""
    found: list[tuple[str, str]] = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        code = [m.group(1) for m in _FENCE.finditer(text)]
        prose = _FENCE.sub("", text)
        code += [m.group(1) for m in _SPAN.finditer(prose)]
        for block in code:
            for match in _ZTIX.finditer(block):
                line_start = block.rfind("\n", 0, match.start()) + 1
                if not _command_position(block[line_start : match.start()].split()):
                    continue  # a user or database name: `pg_dump -U ztix ztix`
                line = "ztix" + match.group(1).rstrip()
                found.append((path.relative_to(ROOT).as_posix(), line))
    return sorted(set(found))


def _command_position(before: list[str]) -> bool:
    """Whether ``ztix`` after these words is the command run: first on its line or span,
    after ``uv run``/``sudo``, or after ``exec <service>`` (compose)."""
    return (
        not before
        or before[-1] in ("run", "sudo", "$")
        or (len(before) >= 2 and before[-2] == "exec" and not before[-1].startswith("-"))
    )


def _resolve(group: Any, words: list[str]) -> tuple[list[str], list[str]]:
    """Walk ``words`` down from ``group``: the command path, and the words left over."""
    path: list[str] = []
    node = group
    for i, word in enumerate(words):
        if not _is_group(node) or word not in node.commands:
            return path, words[i:]
        node = node.commands[word]
        path.append(word)
    return path, []


def _node(path: list[str]) -> Any:
    node = ROOT_COMMAND
    for word in path:
        node = node.commands[word]
    return node


def _positional(part: str) -> list[str]:
    """The leading plain words of one alternative (up to an option, a placeholder, ...)."""
    words = []
    for token in part.split():
        if not _WORD.fullmatch(token):
            break
        words.append(token)
    return words


def commands_of(line: str) -> list[list[str]]:
    """The command paths one documented line names; fails naming a word that is none."""
    first, *others = (p.strip() for p in line.removeprefix("ztix").split("|"))
    paths = []
    path, left = _resolve(ROOT_COMMAND, _positional(first))
    if _is_group(_node(path)) and left:
        raise AssertionError(f"`{line}`: no command `{' '.join(['ztix', *path, left[0]])}`")
    paths.append(path)
    parent = path[:-1]
    for other in others:
        words = _positional(other)
        if not words:
            continue
        sibling, left = _resolve(_node(parent), words)
        if not sibling or (_is_group(_node(parent + sibling)) and left):
            raise AssertionError(f"`{line}`: no command `{' '.join(['ztix', *parent, *words])}`")
        paths.append(parent + sibling)
    return paths


LINES = command_lines()


def test_the_docs_show_ztix_commands() -> None:
    assert len(LINES) > 20
    assert ("docs/operations.md", "ztix controller check") in LINES


@pytest.mark.parametrize(("doc", "line"), LINES, ids=[f"{d}:{line}" for d, line in LINES])
def test_each_documented_command_exists_and_has_help(doc: str, line: str) -> None:
    runner = CliRunner()
    for path in commands_of(line):
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, f"{doc}: `ztix {' '.join(path)} --help`: {result.output}"
        assert "Usage:" in result.output


def test_a_command_that_does_not_exist_is_caught() -> None:
    with pytest.raises(AssertionError, match="no command `ztix controller nonesuch`"):
        commands_of("ztix controller nonesuch")
    with pytest.raises(AssertionError, match="no command `ztix users frobnicate`"):
        commands_of("ztix users list | frobnicate")
    assert commands_of("ztix controller restore ARCHIVE --mode files") == [
        ["controller", "restore"]
    ]
