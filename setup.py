"""Build the compiled core of emd: the Cython network simplex and its cost oracles."""

import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

# No fused multiply-adds: the "same operations, bit for bit" promises (batch vs single
# solve, matrix vs on-the-fly costs) need every product rounded where the code says.
COMPILE_ARGS = ["-O3", "-ffp-contract=off"]

# OpenMP lets one large pricing pass use several threads (emd.solve(n_jobs=...)).
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
        "_tree", "_certify", "_pricing", "_starts", "_pair", "_grid",
        "_costs", "_line", "_few_sources",
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
