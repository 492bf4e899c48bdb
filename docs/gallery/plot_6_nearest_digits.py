"""
Nearest digits
==============

The exact k nearest neighbours of scikit-learn's bundled 8 x 8 handwritten
digits under W1 with the city-block metric (:func:`emd.knn`): the answer brute
force would give, while solving only a few percent of the transport problems,
because cheap lower bounds rule out most candidates.  Needs scikit-learn
(``pip install "emd-ot[data]"``).

This page runs ``examples/nearest_digits.py`` at its own size; its code follows the output.
"""

# %%
# ``run_example`` (``docs/_ext/gallery_run.py``) loads the script, calls its
# ``main`` with a temporary ``--out`` folder and puts the figure it writes below.
from gallery_run import run_example

run_example("nearest_digits")

# %%
# The example's code
# ------------------
#
# .. literalinclude:: ../../examples/nearest_digits.py
#    :language: python
