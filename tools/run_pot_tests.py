"""Run POT's own ``test/test_ot.py`` (or ``test/test_partial.py``) against ``emd.compat.pot``.

Downloads POT's source distribution from PyPI into a temporary directory
(``pip download --no-deps --no-binary :all: pot==0.9.7.*``), extracts
``test/test_ot.py`` and runs it with pytest after replacing ``ot.emd``,
``ot.emd2`` and ``ot.emd2_lazy`` (and their ``ot.lp`` aliases) by the
functions of :mod:`emd.compat.pot`.  With ``--partial`` it runs
``test/test_partial.py`` instead, with ``ot.partial.partial_wasserstein``,
``partial_wasserstein2`` and ``partial_wasserstein_lagrange`` replaced by those
of ``emd.compat.pot.partial`` (POT's entropic, Gromov and 1-D partial solvers,
which the file also tests, stay POT's own).  The sdist ships no ``conftest.py``; the
small one written here provides the ``nx`` fixture (NumPy backend only) and
``pytest.skip_backend``, which POT's own conftest defines.  Nothing is
copied into this repository.

Usage, from the root of a built checkout::

    python tools/run_pot_tests.py               # with emd.compat.pot
    python tools/run_pot_tests.py --original    # POT's own solvers, as a baseline
    python tools/run_pot_tests.py --sdist pot-0.9.7.post1.tar.gz   # no download
    python tools/run_pot_tests.py --partial     # test_partial.py with emd.compat.pot.partial

Exit status 0 when every test that ran passed, 1 otherwise, 2 when the
sdist could not be obtained.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POT_SPEC = "pot==0.9.7.*"  # PyPI's 0.9.7 sdist is 0.9.7.post1

CONFTEST = '''\
import numpy as np
import pytest

import ot


def _skip_backend(name, reason=""):
    # POT's conftest skips per backend; only the NumPy backend runs here.
    return lambda test: test


pytest.skip_backend = _skip_backend

if {patch!r}:
    import emd.compat.pot as compat

    for module in (ot, ot.lp):
        module.emd = compat.emd
        module.emd2 = compat.emd2
        if hasattr(module, "emd2_lazy"):
            module.emd2_lazy = compat.emd2_lazy
    for name in compat.partial.__all__:
        setattr(ot.partial, name, getattr(compat.partial, name))


@pytest.fixture
def nx():
    return ot.backend.NumpyBackend()
'''

PYTEST_INI = "[pytest]\naddopts = -p no:cacheprovider\n"


def download_sdist(directory: Path) -> Path:
    """POT's sdist from PyPI.  Metadata is prepared without build isolation, which
    would otherwise try to build numpy from source just to read POT's version."""
    for extra in (["--no-build-isolation"], []):
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            *extra, POT_SPEC, "-d", str(directory),
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        found = sorted(directory.glob("pot-*.tar.gz"))
        if found:
            return found[0]
    sys.stderr.write(done.stdout[-2000:] + done.stderr[-2000:])
    raise SystemExit("could not download POT's sdist (see pip's output above)")


def extract_test_file(sdist: Path, directory: Path, name: str = "test_ot.py") -> Path:
    with tarfile.open(sdist) as archive:
        member = next(
            (m for m in archive.getmembers() if m.name.endswith(f"/test/{name}")), None
        )
        if member is None:
            raise SystemExit(f"{sdist.name} has no test/{name}")
        data = archive.extractfile(member).read()
    target = directory / name
    target.write_bytes(data)
    return target


def run(test_file: Path, patch: bool, extra: list[str]) -> tuple[dict[str, list[str]], int]:
    directory = test_file.parent
    (directory / "conftest.py").write_text(CONFTEST.format(patch=patch))
    (directory / "pytest.ini").write_text(PYTEST_INI)
    report = directory / "report.xml"
    command = [
        sys.executable, "-m", "pytest", "-q", "-c", str(directory / "pytest.ini"),
        "--rootdir", str(directory), f"--junitxml={report}", str(test_file), *extra,
    ]
    # The checkout's root first, so `import emd` is this checkout's package.
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=directory, env=env, capture_output=True, text=True)
    outcomes: dict[str, list[str]] = {"passed": [], "failed": [], "skipped": []}
    if not report.exists():
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit("pytest produced no report")
    for case in ET.parse(report).getroot().iter("testcase"):
        name = case.get("name")
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes["failed"].append(name)
        elif case.find("skipped") is not None:
            outcomes["skipped"].append(name)
        else:
            outcomes["passed"].append(name)
    return outcomes, done.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--original", action="store_true",
                        help="run with POT's own emd/emd2/emd2_lazy (baseline)")
    parser.add_argument("--sdist", type=Path, help="use this POT sdist instead of downloading")
    parser.add_argument("--partial", action="store_true",
                        help="run test/test_partial.py (exact partial transport) instead")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pot-tests-") as tmp:
        directory = Path(tmp)
        try:
            sdist = args.sdist.resolve() if args.sdist else download_sdist(directory)
        except SystemExit as exc:
            print(exc, file=sys.stderr)
            return 2
        name = "test_partial.py" if args.partial else "test_ot.py"
        test_file = extract_test_file(sdist, directory, name)
        outcomes, _ = run(test_file, not args.original, args.pytest_args)
    which = "POT's own solvers" if args.original else "emd.compat.pot"
    print(f"POT {sdist.name} test/{name} with {which}:")
    print(
        f"  {len(outcomes['passed'])} passed, {len(outcomes['failed'])} failed, "
        f"{len(outcomes['skipped'])} skipped"
    )
    for name in outcomes["failed"]:
        print(f"  FAILED {name}")
    return 1 if outcomes["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
