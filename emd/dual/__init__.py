r"""Kantorovich-Rubinstein duality: exact witnesses, certificates and honest W1 estimators.

For a metric ``d``, the Wasserstein-1 distance has the dual form

.. math:: W_1(P, Q) = \sup_{\mathrm{Lip}(f) \le 1} \mathbb{E}_P f - \mathbb{E}_Q f,

and a function attaining the supremum is a *witness*.  This module builds
witnesses that are exactly 1-Lipschitz on the whole space from the potentials
of a solved transport problem (:func:`kr_witness`; bounded by ``lam`` too for
unbalanced W1, with :func:`unbalanced_witness` and :func:`partial_dual` for
the duals of unequal-mass results), checks them
(:func:`certify`), and turns them into estimators of ``W1(P, Q)`` from
samples, each with an honest statement of what it bounds:

* :func:`w1_plugin` -- exact W1 between the empirical measures; biased upward.
* :func:`w1_heldout_lower` -- a witness fitted on one half of the data and
  evaluated on the other: a confidence *lower* bound, valid because every
  1-Lipschitz ``f`` has ``E_P f - E_Q f <= W1``.
* :func:`w1_bracket` -- both of the above, with a warning when they disagree.
* :func:`sliced_w1`, :func:`max_sliced_w1` -- averages and maxima of 1-D
  distances along directions; never above W1 (euclidean metric).
* :func:`permutation_test` -- a test of ``P = Q``.

The WGAN-style critics of :func:`train_critic` (a small MLP trained under
weight clipping or a gradient penalty) are here for comparison, with
:func:`audit_critic` to measure how far they are from 1-Lipschitz.  They are
*not* reliable W1 estimators; the exact witness is.

Examples
--------
>>> import numpy as np
>>> from emd.dual import kr_witness
>>> f = kr_witness([[0.0, 0.0], [0.0, 1.0]], [[2.0, 0.0], [2.0, 1.0]])
>>> round(f.value, 12)
2.0
>>> # Every unit of mass moves by 2, and f drops by exactly 2 along each move.
>>> np.round(f([[0.0, 0.0], [0.0, 1.0]]) - f([[2.0, 0.0], [2.0, 1.0]]), 12)
array([2., 2.])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from emd.dual._certificate import DualCertificate, certify
from emd.dual._estimators import (
    HeldoutEstimate,
    PluginEstimate,
    W1Bracket,
    WideBracketWarning,
    w1_bracket,
    w1_heldout_lower,
    w1_plugin,
)
from emd.dual._permutation import PermutationTest, permutation_test
from emd.dual._sliced import ProjectionWitness, SlicedEstimate, max_sliced_w1, sliced_w1
from emd.dual._unequal import BoundedWitness, PartialDual, partial_dual, unbalanced_witness
from emd.dual._witness import Witness, kr_witness, witness_from_result

if TYPE_CHECKING:
    from emd.dual._critics import CriticAudit, TrainedCritic, audit_critic, train_critic

# Where each part lives (each module imports only those above it):
#   _checks        argument checks shared by all (metrics, samples, fractions, choices)
#   _witness       kr_witness, witness_from_result, Witness: the exact KR witness
#   _unequal       unbalanced_witness, partial_dual: duals of unequal-mass results
#   _certificate   certify, DualCertificate: the plan's Certificate plus the witness's checks
#   _sliced        sliced_w1, max_sliced_w1, ProjectionWitness
#   _estimators    w1_plugin, w1_heldout_lower, w1_bracket
#   _permutation   permutation_test
#   _critics       train_critic, audit_critic: imported on first use (see __getattr__)

__all__ = [
    "BoundedWitness",
    "CriticAudit",
    "DualCertificate",
    "HeldoutEstimate",
    "PartialDual",
    "PermutationTest",
    "PluginEstimate",
    "ProjectionWitness",
    "SlicedEstimate",
    "TrainedCritic",
    "W1Bracket",
    "WideBracketWarning",
    "Witness",
    "audit_critic",
    "certify",
    "kr_witness",
    "max_sliced_w1",
    "partial_dual",
    "permutation_test",
    "sliced_w1",
    "train_critic",
    "unbalanced_witness",
    "w1_bracket",
    "w1_heldout_lower",
    "w1_plugin",
    "witness_from_result",
]

# The critics are for comparison only and most programs never touch them:
# their module is imported on first use of one of these names.
_LAZY = {
    "CriticAudit": "_critics",
    "TrainedCritic": "_critics",
    "audit_critic": "_critics",
    "train_critic": "_critics",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
