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
small one written here defines what POT's own conftest does: the ``nx``
fixture over the backends (NumPy, and PyTorch and JAX when asked, with JAX in
float64 as POT's conftest sets it) and ``pytest.skip_backend``.  Nothing is
copied into this repository.

The PyTorch and JAX backends need those libraries: found in this environment,
or else installed into it with pip (the CPU builds CI uses: ``torch==2.13.0``,
``jax[cpu]==0.10.2``) unless ``--no-install``; a backend whose library is
still missing is reported and left out.  Counts are printed per backend
(tests without the ``nx`` fixture count under "no backend"; some of those use
PyTorch directly, e.g. the gradient tests).

Usage, from the root of a built checkout::

    python tools/run_pot_tests.py               # with emd.compat.pot, every backend
    python tools/run_pot_tests.py --backends numpy
    python tools/run_pot_tests.py --original    # POT's own solvers, as a baseline
    python tools/run_pot_tests.py --sdist pot-0.9.7.post1.tar.gz   # no download
    python tools/run_pot_tests.py --partial     # test_partial.py with emd.compat.pot.partial

Exit status 0 when every test that ran passed, 1 otherwise, 2 when the
sdist could not be obtained.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POT_SPEC = "pot==0.9.7.*"  # PyPI's 0.9.7 sdist is 0.9.7.post1

#: The backends beside NumPy: the module to find and what to install (CPU builds only).
BACKENDS = {"torch": ("torch", "torch==2.13.0"), "jax": ("jax", "jax[cpu]==0.10.2")}

CONFTEST = '''\
import functools

import numpy as np
import pytest

BACKENDS = {backends!r}
if "jax" in BACKENDS:
    import jax

    jax.config.update("jax_enable_x64", True)  # as POT's conftest

import ot
from ot.backend import get_backend_list


def _skip_backend(name, reason=None):
    # POT's skip_backend: skip the test for the backend named (its str()).
    def decorate(test):
        @functools.wraps(test)
        def wrapped(*args, **kwargs):
            if str(kwargs.get("nx", "")) == name:
                pytest.skip(reason or f"backend {{name}} skipped by the test")
            return test(*args, **kwargs)

        return wrapped

    return decorate


pytest.skip_backend = _skip_backend
BACKEND_LIST = [nx for nx in get_backend_list() if nx.__name__ in BACKENDS]

if {patch!r}:
    import emd.compat.pot as compat

    for module in (ot, ot.lp):
        module.emd = compat.emd
        module.emd2 = compat.emd2
        if hasattr(module, "emd2_lazy"):
            module.emd2_lazy = compat.emd2_lazy
    for name in compat.partial.__all__:
        setattr(ot.partial, name, getattr(compat.partial, name))


@pytest.fixture(params=BACKEND_LIST, ids=[nx.__name__ for nx in BACKEND_LIST])
def nx(request):
    return request.param
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


def find_or_install(names: list[str], install: bool) -> tuple[list[str], list[str]]:
    """The backends whose library imports here (installing the missing ones with pip
    when ``install``), and those still missing."""
    found, missing = [], []
    for name in names:
        module, requirement = BACKENDS[name]
        if importlib.util.find_spec(module) is None and install:
            print(f"installing {requirement} for the {name} backend ...", flush=True)
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", requirement],
                           check=False)
            importlib.invalidate_caches()
        (found if importlib.util.find_spec(module) is not None else missing).append(name)
    return found, missing


def backend_of(test_name: str, backends: list[str]) -> str:
    """The backend a test ran on: its ``nx`` parameter id, if any."""
    if test_name.endswith("]"):
        params = test_name[test_name.rindex("[") + 1 : -1].split("-")
        for name in backends:
            if name in params:
                return name
    return "no backend"


def run(test_file: Path, patch: bool, extra: list[str],
        backends: list[str]) -> tuple[dict[str, list[str]], int]:
    directory = test_file.parent
    (directory / "conftest.py").write_text(CONFTEST.format(patch=patch, backends=backends))
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
    parser.add_argument("--backends", default="numpy,torch,jax",
                        help="comma-separated POT backends to run (default: numpy,torch,jax)")
    parser.add_argument("--no-install", action="store_true",
                        help="leave out a backend whose library is not installed, "
                             "instead of installing it with pip")
    parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest")
    args = parser.parse_args(argv)
    wanted = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = [name for name in wanted if name != "numpy" and name not in BACKENDS]
    if unknown:
        parser.error(f"unknown backend(s) {unknown}: choose among numpy, torch, jax")
    found, missing = find_or_install([n for n in wanted if n != "numpy"], not args.no_install)
    backends = (["numpy"] if "numpy" in wanted else []) + found
    with tempfile.TemporaryDirectory(prefix="pot-tests-") as tmp:
        directory = Path(tmp)
        try:
            sdist = args.sdist.resolve() if args.sdist else download_sdist(directory)
        except SystemExit as exc:
            print(exc, file=sys.stderr)
            return 2
        name = "test_partial.py" if args.partial else "test_ot.py"
        test_file = extract_test_file(sdist, directory, name)
        outcomes, _ = run(test_file, not args.original, args.pytest_args, backends)
    which = "POT's own solvers" if args.original else "emd.compat.pot"
    print(f"POT {sdist.name} test/{name} with {which}, backends {', '.join(backends)}:")
    for backend in missing:
        print(f"  {backend}: not installed, left out")
    for group in [*backends, "no backend"]:
        counts = {key: sum(backend_of(test, backends) == group for test in tests)
                  for key, tests in outcomes.items()}
        print(f"  {group + ':':<12} {counts['passed']} passed, {counts['failed']} failed, "
              f"{counts['skipped']} skipped")
    print(
        f"  {'total:':<12} {len(outcomes['passed'])} passed, {len(outcomes['failed'])} failed, "
        f"{len(outcomes['skipped'])} skipped"
    )
    for name in outcomes["failed"]:
        print(f"  FAILED {name}")
    return 1 if outcomes["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
