"""
Parallel lines
==============

The Wasserstein GAN paper's example: two parallel segments at distance
theta.  W1 from the solver is ``|theta|``, while KL is infinite, Jensen-Shannon
is ``log 2`` and total variation is 1 for every ``theta != 0``.  The exact
Kantorovich-Rubinstein witness (:func:`emd.dual.kr_witness`) falls with slope 1
between the lines.

This page runs ``examples/parallel_lines.py`` at its own size; its code follows the output.
"""

# %%
# ``run_example`` (``docs/_ext/gallery_run.py``) loads the script, calls its
# ``main`` with a temporary ``--out`` folder and puts the figure it writes below.
from gallery_run import run_example

run_example("parallel_lines")

# %%
# The example's code
# ------------------
#
# .. literalinclude:: ../../examples/parallel_lines.py
#    :language: python
