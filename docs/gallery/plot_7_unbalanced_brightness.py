"""
Brightness matters: unequal masses
==================================

Two images of one scene, the second brighter: normalised W1 (each image
divided by its total) calls a uniformly brighter image identical to the
original, while the unbalanced distance (:func:`emd.solve_grid` with
``unbalanced=LAM``) moves the masses as given and charges ``LAM`` per unit of
light created or destroyed, drawn here where it happens.

This page runs ``examples/unbalanced_brightness.py`` at its own size; its code
follows the output.
"""

# %%
# ``run_example`` (``docs/_ext/gallery_run.py``) loads the script, calls its
# ``main`` with a temporary ``--out`` folder and puts the figure it writes below.
from gallery_run import run_example

run_example("unbalanced_brightness")

# %%
# The example's code
# ------------------
#
# .. literalinclude:: ../../examples/unbalanced_brightness.py
#    :language: python
