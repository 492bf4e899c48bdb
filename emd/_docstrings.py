"""Shared docstring text: one home for a parameter or section that several public
functions describe alike (in the spirit of scipy's ``_lib.doccer``).

A docstring names a shared block on a line of its own, ``%(name)s``, indented as the
block should be; :func:`fill` substitutes it when the module is imported, so
``help()``, the doctests and the Sphinx site all read the full text.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import TypeVar

__all__ = ["fill"]

F = TypeVar("F", bound=Callable)


def _substitute(doc: str, blocks: dict[str, str]) -> str:
    out = []
    for line in doc.splitlines():
        stripped = line.strip()
        if stripped.startswith("%(") and stripped.endswith(")s"):
            name = stripped[2:-2]
            if name not in blocks:
                raise KeyError(f"docstring names an unknown shared block {name!r}")
            indent = line[: len(line) - len(line.lstrip())]
            block = textwrap.dedent(blocks[name]).strip("\n")
            out.extend(indent + text if text else "" for text in block.splitlines())
        else:
            out.append(line)
    return "\n".join(out) + ("\n" if doc.endswith("\n") else "")


def fill(**blocks: str) -> Callable[[F], F]:
    """A decorator that replaces each ``%(name)s`` line of a function's docstring by the
    block ``name`` (dedented, then indented as the placeholder line)."""

    def decorate(function: F) -> F:
        if function.__doc__:
            function.__doc__ = _substitute(function.__doc__, blocks)
        return function

    return decorate
