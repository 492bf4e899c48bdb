"""
A critic tracks the distance
============================

Samples of ``P_theta`` move toward ``P_0`` step by step.  The exact witness
(the empirical W1), a held-out lower bound (:func:`emd.dual.w1_heldout_lower`)
and a weight-clipped critic (:func:`emd.dual.train_critic`) all follow W1, the
clipped critic on its own, tiny scale (its correlation with W1 is printed),
while Jensen-Shannon between the samples stays at ``log 2``.

This page runs ``examples/critic_tracks_distance.py`` at its own size; its code follows the output.
"""

# %%
# ``run_example`` (``docs/_ext/gallery_run.py``) loads the script, calls its
# ``main`` with a temporary ``--out`` folder and puts the figure it writes below.
from gallery_run import run_example

run_example("critic_tracks_distance")

# %%
# The example's code
# ------------------
#
# .. literalinclude:: ../../examples/critic_tracks_distance.py
#    :language: python
