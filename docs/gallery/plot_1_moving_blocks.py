"""
Moving blocks
=============

Distributions as piles of blocks.  (a) Eight blocks go from 1, 2, 3 to 7, 8, 9:
two different plans (printed as block tables and as joint distributions) cost
the same, 5.75 per block, because every block moves right, and the solver's
optimum equals it.  (b) Blocks at 2 and 8 go to 3 and 7: moving each to its
neighbour costs 1, crossing them over costs 5, and the solver finds 1.

This page runs ``examples/moving_blocks.py`` at its own size; its code follows the output.
"""

# %%
# ``run_example`` (``docs/_ext/gallery_run.py``) loads the script, calls its
# ``main`` with a temporary ``--out`` folder and puts the figure it writes below.
from gallery_run import run_example

run_example("moving_blocks")

# %%
# The example's code
# ------------------
#
# .. literalinclude:: ../../examples/moving_blocks.py
#    :language: python
