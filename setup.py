"""Build the compiled core of emd: the Cython network simplex and its cost oracles.

The rooms of ``emd/_core`` (docs/architecture.md): each ``.pyx`` is one extension;
the ``.pxd`` files say what the others may cimport, and the C kernels live in ``.h``
files beside them.
"""

import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

# No fused multiply-adds: the "same operations, bit for bit" promises (batch vs single
# solve, matrix vs on-the-fly costs) need every product rounded where the code says.
COMPILE_ARGS = ["-O3", "-ffp-contract=off"]

# OpenMP lets one large pricing pass use several threads (emd.solve(n_jobs=...)); the
# passes are the only threaded code, all in emd._core._pricing.
# Apple's clang has no OpenMP by default: there the same code runs on one thread.
if sys.platform == "win32":
    OPENMP_COMPILE, OPENMP_LINK = ["/openmp"], []
elif sys.platform == "darwin":
    OPENMP_COMPILE, OPENMP_LINK = [], []
else:
    OPENMP_COMPILE, OPENMP_LINK = ["-fopenmp"], ["-fopenmp"]
THREADED = {"_pricing"}

extensions = [
    Extension(
        f"emd._core.{name}",
        [f"emd/_core/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS + (OPENMP_COMPILE if name in THREADED else []),
        extra_link_args=OPENMP_LINK if name in THREADED else [],
    )
    for name in (
        "_tree",  # the spanning tree and its pivot; every other room builds on it
        "_certify",  # exact balancing, basic flows, the compiled certificate
        "_pricing",  # the pair solve's candidates and full pricing passes
        "_starts",  # starting trees: staircase, forests of plans
        "_pair",  # the compiled pair solve, for single solves and batches
        "_grid",  # the grid driver, coarse to fine
        "_costs",  # cost oracles for the Python layer
        "_line",  # the closed form on a line
        "_few_sources",  # shortest paths for few sources
    )
]

setup(
    ext_modules=cythonize(
        extensions,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
            "language_level": 3,
        },
    ),
)
