"""
Point clouds, plan and witness
==============================

Two weighted 2-D clouds (:func:`emd.solve_points`): the optimal plan drawn as
segments whose width is their mass, and the witness as a heat map.  The
witness attains W1 and drops by exactly the length of every segment used.
``--points A.csv B.csv`` reads point files such as ``examples/data/points_*.csv``.

This page runs ``examples/point_clouds.py`` at its own size; its code follows the output.
"""

# %%
# ``run_example`` (``docs/_ext/gallery_run.py``) loads the script, calls its
# ``main`` with a temporary ``--out`` folder and puts the figure it writes below.
from gallery_run import run_example

run_example("point_clouds")

# %%
# The example's code
# ------------------
#
# .. literalinclude:: ../../examples/point_clouds.py
#    :language: python
