"""
Images on a grid
================

W1 between two grayscale images with the grid solver
(:func:`emd.solve_grid`): city-block (exact), Euclidean (a graph with offsets
up to L = 3: its cost, error bound and the bracket ``[cost / (1 + bound),
cost]``, checked against the exact Euclidean W1) and Chebyshev, with the
optimal flow of ink of each metric drawn as arrows, one per block of pixels.
``--images A.png B.png`` uses your own images.

This page runs ``examples/images.py`` at its own size; its code follows the output.
"""

# %%
# ``run_example`` (``docs/_ext/gallery_run.py``) loads the script, calls its
# ``main`` with a temporary ``--out`` folder and puts the figure it writes below.
from gallery_run import run_example

run_example("images")

# %%
# The example's code
# ------------------
#
# .. literalinclude:: ../../examples/images.py
#    :language: python
