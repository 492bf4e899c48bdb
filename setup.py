"""Build the compiled core of emd: the Cython network simplex and its cost oracles."""

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

COMPILE_ARGS = ["-O3"]

extensions = [
    Extension(
        f"emd._core.{name}",
        [f"emd/_core/{name}.pyx"],
        include_dirs=[np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS,
    )
    for name in ("_network_simplex", "_costs", "_line", "_few_sources")
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
