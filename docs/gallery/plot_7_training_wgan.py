"""
Training a generator: the exact W1 loss against a WGAN critic
=============================================================

A small PyTorch generator learns scikit-learn's digits (their first two principal
components) twice from the same start: on the exact minibatch W1
(``emd.wasserstein_batch`` on tensors, differentiated through the optimal plans)
and against a WGAN-GP critic.  Both are judged by the exact W1 to held-out digits;
the critic's own estimate of the distance is drawn beside it.

This page runs ``examples/training_wgan.py`` with ``--small`` (40 steps, a few
seconds; the full run, 600 steps, takes under a minute and draws the README's
figure); its code follows the output.  It needs PyTorch.
"""

# %%
# ``run_example`` (``docs/_ext/gallery_run.py``) loads the script, calls its
# ``main`` with a temporary ``--out`` folder and puts the figure it writes below.
from gallery_run import run_example

run_example("training_wgan", "--small")

# %%
# The example's code
# ------------------
#
# .. literalinclude:: ../../examples/training_wgan.py
#    :language: python
