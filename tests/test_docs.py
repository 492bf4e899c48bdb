"""The documentation site's sources are complete and true, checked without building it.

* every public name (``__all__`` of ``emd`` and of its public modules) has an entry in the
  API reference, and every entry names a real object;
* the ``emd-compute`` reference is generated from the parser the tool runs;
* the code of the guide and the front page runs as shown (doctest), and each
  ``$ emd-compute`` line of the guide runs, printing what the page shows;
* every example of ``examples/`` has a gallery page that runs it, and every figure the
  guide shows exists (the benchmark plots of ``benchmarks/reference/`` all appear).

The build itself (``python -m sphinx -W -b html docs docs/_build/html``) is a leg of
``.ci/run``.
"""

from __future__ import annotations

import argparse
import doctest
import importlib
import re
import shlex
from pathlib import Path

import pytest

import emd
import emd.cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
API = DOCS / "api"
GUIDE = DOCS / "guide"

#: Public modules and the names each must document (their ``__all__``).
PUBLIC_MODULES = ["emd", "emd.dual", "emd.divergences", "emd.compat.pot", "emd.compat.pot_partial",
                  "emd.io", "emd.cli", "emd.batch", "emd.unbalanced"]


def _directive_blocks(text: str, name: str) -> list[tuple[str, list[str]]]:
    """``(argument, body lines)`` of every ``.. name::`` directive, options dropped."""
    found = []
    lines = text.splitlines()
    for k, line in enumerate(lines):
        match = re.match(rf"\.\. {re.escape(name)}::\s*(.*)$", line)
        if not match:
            continue
        body = []
        for following in lines[k + 1:]:
            if following and not following.startswith(" "):
                break
            stripped = following.strip()
            if stripped and not stripped.startswith(":"):
                body.append(stripped)
        found.append((match.group(1).strip(), body))
    return found


def _api_entries() -> set[str]:
    """Fully qualified names with an entry in the API reference's sources."""
    entries = set()
    for path in sorted(API.glob("*.rst")):
        module = None
        for line in path.read_text(encoding="utf-8").splitlines():
            if match := re.match(r"\.\. (?:currentmodule|automodule):: (\S+)", line):
                module = match.group(1)
                if line.startswith(".. automodule::"):
                    entries.add(module)
            elif match := re.match(r"\.\. (?:auto)?(?:data|function|class|exception):: (\S+)",
                                   line):
                entries.add(f"{module}.{match.group(1)}")
        text = path.read_text(encoding="utf-8")
        # autosummary tables: the module in force is the last currentmodule above them.
        for block_start in [m.start() for m in re.finditer(r"^\.\. autosummary::", text, re.M)]:
            above = re.findall(r"^\.\. currentmodule:: (\S+)", text[:block_start], re.M)
            assert above, f"{path.name}: an autosummary table before any currentmodule"
            (_, names), = _directive_blocks(text[block_start:], "autosummary")[:1]
            entries.update(f"{above[-1]}.{name}" for name in names)
    return entries


def _resolve(fullname: str):
    module_name, _, attr = fullname.rpartition(".")
    try:
        return importlib.import_module(fullname)
    except ImportError:
        return getattr(importlib.import_module(module_name), attr)


def _rst_sources() -> list[Path]:
    generated = {DOCS / "_build", API / "generated", DOCS / "auto_gallery"}
    return sorted(p for p in DOCS.rglob("*.rst")
                  if not any(g in p.parents for g in generated))


# --------------------------------------------------------------------------- API reference


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_has_an_entry(module_name):
    module = importlib.import_module(module_name)
    entries = _api_entries()
    assert module_name in entries, f"no page documents the module {module_name}"
    # A name re-exported at the top level (emd.batch.pairwise is emd.pairwise) has its page there.
    missing = [name for name in module.__all__ if f"{module_name}.{name}" not in entries
               and f"{module_name}.{name}" not in PUBLIC_MODULES
               and not (f"emd.{name}" in entries and getattr(emd, name, None) is getattr(module, name))
               # A submodule under another name (emd.compat.pot.partial is pot_partial).
               and getattr(getattr(module, name), "__name__", None) not in PUBLIC_MODULES]
    assert not missing, f"{module_name}: no API entry for {missing} (add them to docs/api/)"


def test_every_public_module_in_emd_all_has_a_page():
    modules = [name for name in emd.__all__
               if getattr(getattr(emd, name), "__spec__", None) is not None]
    assert sorted(modules) == ["divergences", "dual"]
    for name in modules:
        assert f"emd.{name}" in PUBLIC_MODULES


def test_every_entry_names_a_real_object():
    for fullname in sorted(_api_entries()):
        try:
            _resolve(fullname)
        except (ImportError, AttributeError):
            pytest.fail(f"the API reference lists {fullname}, which does not exist")


def test_constants_written_out_have_their_values():
    for path in sorted(API.glob("*.rst")):
        text = path.read_text(encoding="utf-8")
        module = None
        lines = text.splitlines()
        for k, line in enumerate(lines):
            if match := re.match(r"\.\. (?:currentmodule|automodule):: (\S+)", line):
                module = match.group(1)
            elif match := re.match(r"\.\. data:: (\S+)", line):
                value = re.match(r"\s+:value: (.+)$", lines[k + 1])
                assert value, f"{path.name}: {match.group(1)} without its :value:"
                actual = _resolve(f"{module}.{match.group(1)}")
                assert repr(actual) == value.group(1), f"{module}.{match.group(1)} is {actual!r}"


def test_cli_reference_is_generated_from_the_parser_the_tool_runs():
    (_, _), = _directive_blocks((API / "cli.rst").read_text(encoding="utf-8"), "argparse")
    text = (API / "cli.rst").read_text(encoding="utf-8")
    module = re.search(r"^\s+:module: (\S+)$", text, re.M).group(1)
    func = re.search(r"^\s+:func: (\S+)$", text, re.M).group(1)
    assert re.search(r"^\s+:prog: emd-compute$", text, re.M)
    build = getattr(importlib.import_module(module), func)
    assert build is emd.cli.build_parser  # the parser main() parses with
    parser = build()
    assert isinstance(parser, argparse.ArgumentParser) and parser.prog == "emd-compute"
    # The page shows the epilog through the cli-epilog directive, from the same parser.
    assert "\n.. cli-epilog::\n" in text and parser.epilog


# --------------------------------------------------------------------------- guide code


@pytest.mark.parametrize("path", [p for p in _rst_sources() if ">>>" in p.read_text("utf-8")],
                         ids=lambda p: str(p.relative_to(DOCS)))
def test_page_examples_run_as_shown(path):
    result = doctest.testfile(str(path), module_relative=False, verbose=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0, f"{path.relative_to(ROOT)}: {result.failed} examples failed"


def _console_commands(text: str) -> list[tuple[str, list[str]]]:
    """``(command, shown output lines)`` of the ``$ emd-compute`` lines of console blocks."""
    commands = []
    for _, body in _directive_blocks(text, "code-block"):
        for line in body:
            if line.startswith("$ "):
                commands.append((line[2:], []))
            elif commands:
                commands[-1][1].append(line)
    return [(c, out) for c, out in commands if c.startswith("emd-compute ")]


CLI_COMMANDS = [cmd for p in _rst_sources() for cmd in _console_commands(p.read_text("utf-8"))]
_OUTPUT_FLAGS = ("-o", "--output", "--plan", "--potentials", "--flows")


def test_the_guide_shows_cli_commands():
    assert len(CLI_COMMANDS) >= 5
    assert any(out for _, out in CLI_COMMANDS), "no command of the guide shows its output"


@pytest.mark.parametrize("command, shown", CLI_COMMANDS, ids=[c for c, _ in CLI_COMMANDS])
def test_cli_command_runs_as_shown(command, shown, tmp_path, monkeypatch, capsys):
    argv = shlex.split(command)[1:]
    for k, arg in enumerate(argv[:-1]):
        if arg in _OUTPUT_FLAGS:
            argv[k + 1] = str(tmp_path / Path(argv[k + 1]).name)  # outputs to a temp dir
    monkeypatch.chdir(ROOT)
    status = emd.cli.main(argv)
    captured = capsys.readouterr()
    assert status == 0, captured.err
    for k, arg in enumerate(argv[:-1]):
        if arg in _OUTPUT_FLAGS:
            assert Path(argv[k + 1]).is_file()
    if shown:
        assert captured.out.splitlines() == shown


# --------------------------------------------------------------------------- gallery, figures


def test_every_example_has_a_gallery_page_that_runs_it():
    examples = {p.stem for p in (ROOT / "examples").glob("*.py")}
    run = {}
    for script in (DOCS / "gallery").glob("plot_*.py"):
        names = re.findall(r'^run_example\("(\w+)"', script.read_text("utf-8"), re.M)
        assert len(names) == 1, f"{script.name} should run exactly one example"
        run[names[0]] = script
        # The page shows the code of the example it runs.
        assert f"literalinclude:: ../../examples/{names[0]}.py" in script.read_text("utf-8")
    assert set(run) == examples, (
        f"examples without a gallery page: {sorted(examples - set(run))}; "
        f"gallery pages of missing examples: {sorted(set(run) - examples)}")


def test_figures_exist_and_show_every_benchmark_plot():
    shown = set()
    for path in _rst_sources():
        for target, _ in (_directive_blocks(path.read_text("utf-8"), "figure")
                          + _directive_blocks(path.read_text("utf-8"), "image")):
            figure = (path.parent / target).resolve()
            assert figure.is_file(), f"{path.relative_to(ROOT)} shows {target}, which is missing"
            shown.add(figure)
    plots = {p.resolve() for p in (ROOT / "benchmarks" / "reference").glob("*.png")}
    assert plots and plots <= shown, f"benchmark plots not shown: {sorted(plots - shown)}"
