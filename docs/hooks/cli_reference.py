"""MkDocs hook: the CLI reference is generated from the argparse parser at every build, so
the page cannot drift from the command line (``<!-- cli-reference -->`` in cli.md marks
where it goes)."""

from __future__ import annotations

import argparse
from typing import Any

MARKER = "<!-- cli-reference -->"
WIDTH = 96  # help text wrapped as on a wide terminal, whatever the build machine's is


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace the marker with every command's ``--help``."""
    if MARKER not in markdown:
        return markdown
    from valuesneg.cli import build_parser

    return markdown.replace(MARKER, render(build_parser()))


def render(parser: argparse.ArgumentParser) -> str:
    """A section per command and subcommand, depth first, each with its help text."""
    return "\n".join(_sections(parser, parser.prog, 2))


def _sections(parser: argparse.ArgumentParser, name: str, level: int) -> list[str]:
    formatter = parser.formatter_class
    parser.formatter_class = lambda prog: formatter(prog, width=WIDTH)  # type: ignore[misc]
    try:
        text = parser.format_help()
    finally:
        parser.formatter_class = formatter
    out = [f"{'#' * min(level, 6)} `{name}`\n", "```text", text.rstrip(), "```\n"]
    for sub in subcommands(parser):
        out += _sections(sub, sub.prog, level + 1)
    return out


def subcommands(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """A parser's subcommand parsers, in the order they were added (aliases once)."""
    found: list[argparse.ArgumentParser] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if sub not in found:
                    found.append(sub)
    return found
