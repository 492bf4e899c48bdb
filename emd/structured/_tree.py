"""Exact Wasserstein-1 distance for the shortest-path metric of a weighted tree.

On a tree every unit of mass that leaves a subtree must cross the single edge
above it, so the optimal cost has the closed form

.. math:: W_1(a, b) = \\sum_{v \\ne \\text{root}} \\ell_v \\,
          \\Big|\\sum_{w \\in \\text{subtree}(v)} (a_w - b_w)\\Big|,

computed here in O(n log depth) vectorised numpy: subtree sums and root-path
sums use pointer doubling, so no Python loop ever runs over the nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike

from .. import _certify
from .._result import Certificate
from .._status import warn_status
from .._validation import (
    as_float_array,
    as_weights,
    balance,
    check_finite,
    check_nonnegative,
    check_scale,
    first_bad,
    input_eps,
)
from ..unbalanced import UnbalancedResult, check_keywords, solve_arcs

__all__ = ["TreeResult", "solve_tree", "wasserstein_tree"]


def _as_parents(parents: Any) -> tuple[np.ndarray, int]:
    """Validate a parent array; return it as int64 together with the root index.

    Cycles are not detected here (that needs the doubling loop); everything
    else about the shape of the forest is.
    """
    # Reusing the float converter gives the shared messages for non-numbers;
    # node counts stay far below 2**53, so every valid index is exact.
    p = as_float_array(parents, "parents", 1)
    n = p.size
    if n == 0:
        raise ValueError("parents is empty: a tree needs at least one node")
    integral = np.isfinite(p) & (p == np.round(p))
    if not integral.all():
        bad = first_bad(~integral)
        raise ValueError(f"parents must hold integer node indices, got {p[bad]} at index {bad}")
    out = (p < -1) | (p >= n)
    if out.any():
        bad = first_bad(out)
        raise ValueError(
            f"parents[{bad}] = {int(p[bad])} is out of range: parents must lie in "
            f"0..{n - 1}, or be -1 for the root"
        )
    par = p.astype(np.int64)
    roots = np.flatnonzero(par == -1)
    if roots.size == 0:
        raise ValueError("parents has no root: exactly one entry must be -1")
    if roots.size > 1:
        shown = ", ".join(str(r) for r in roots[:5]) + (", ..." if roots.size > 5 else "")
        raise ValueError(
            f"parents has {roots.size} roots (nodes {shown}): exactly one entry must be -1"
        )
    loops = par == np.arange(n)
    if loops.any():
        bad = first_bad(loops)
        raise ValueError(f"parents[{bad}] = {bad} is a self-loop")
    return par, int(roots[0])


def _as_lengths(edge_lengths: Any, n: int, root: int) -> np.ndarray:
    """Validated edge lengths with the (ignored) root entry set to 0."""
    lengths = as_float_array(edge_lengths, "edge_lengths", 1)
    if lengths.size != n:
        raise ValueError(f"edge_lengths has {lengths.size} entries but parents has {n}")
    # Copy: the root entry is overwritten and the input may be the caller's array.
    lengths = lengths.copy()
    lengths[root] = 0.0
    check_finite(lengths, "edge_lengths", "length", "node")
    check_nonnegative(lengths, "edge_lengths", "length", "node")
    return lengths


def _jump_array(parents: np.ndarray, root: int) -> np.ndarray:
    """Parent pointers with the root sent to a sink node ``n`` that points to itself."""
    n = parents.size
    jump = np.empty(n + 1, dtype=np.int64)
    jump[:n] = parents
    jump[root] = n
    jump[n] = n
    return jump


def _subtree_sums(parents: np.ndarray, root: int, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each node's subtree; raises if ``parents`` has a cycle.

    Pointer doubling: after round k every node holds the sum over descendants
    fewer than 2**k edges below it and ``jump`` points 2**k levels up.  A
    tree of n nodes is done once 2**k >= n; a node still short of the sink
    then lies on or under a cycle.
    """
    n = parents.size
    jump = _jump_array(parents, root)
    acc = np.zeros(n + 1)
    acc[:n] = values
    max_rounds = (n - 1).bit_length()  # smallest k with 2**k >= n
    for done in range(max_rounds + 1):
        pending = jump[:n] != n
        if not pending.any():
            return acc[:n]
        if done == max_rounds:
            break
        # Each node hands its partial sum to the node 2**k levels up.
        acc += np.bincount(jump, weights=acc, minlength=n + 1)
        acc[n] = 0.0
        jump = jump[jump]
    # After >= n steps every unfinished pointer sits on the cycle itself.
    on_cycle = int(jump[first_bad(pending)])
    raise ValueError(
        f"parents contains a cycle through node {on_cycle}: "
        "following parents from some node never reaches the root"
    )


def _root_path_sums(parents: np.ndarray, root: int, values: np.ndarray) -> np.ndarray:
    """Sum of ``values`` over each node's path to the root (root excluded).

    ``values[root]`` must be 0.  Pointer doubling as in :func:`_subtree_sums`,
    but in the other direction; ``parents`` must already be known acyclic.
    """
    n = parents.size
    jump = _jump_array(parents, root)
    acc = np.zeros(n + 1)
    acc[:n] = values
    while (jump[:n] != n).any():
        acc += acc[jump]
        acc[n] = 0.0
        jump = jump[jump]
    return acc[:n]


def _prepare(
    parents: Any, edge_lengths: Any, a: Any, b: Any, normalize: bool
) -> tuple[np.ndarray, int, np.ndarray, np.ndarray, tuple]:
    """Validate everything; return parents, root, lengths, the edge flows toward the
    parents (each the correct rounding of the exact flow) and what the certificate checks.

    On a tree the flow is unique: the net supply of each subtree crosses the
    edge above it.  The supplies ``a - b`` are taken exactly (TwoSum) and the
    subtree sums are the compiled leaf peeling's double-double sums, so a mass
    of 2**-50 beside a unit one still crosses its edges (a plain sum would
    lose it, and 1e-16 of mass over a 1e15 edge is 0.1 of cost).
    """
    par, root = _as_parents(parents)
    n = par.size
    lengths = _as_lengths(edge_lengths, n, root)
    wa = as_weights(a, "a", n)
    wb = as_weights(b, "b", n)
    wa, wb = balance(wa, wb, normalize, eps=input_eps(a, b))
    wa, wb = _certify.balance_exactly(wa, wb)
    check_scale(float(lengths.max()), float(wa.sum()), n, "edge lengths")
    _subtree_sums(par, root, np.zeros(n))  # refuses a cycle, naming a node on it
    child = np.flatnonzero(par >= 0)
    supply, supply_low = _certify.difference(wa, wb)
    basic = _certify.BasicFlow(child, par[child], supply, supply_low)
    flows = np.zeros(n)
    flows[child] = basic.high
    return par, root, lengths, flows, (child, par[child], lengths[child], basic, math.fsum(wa))


def _tree_cost(proof: tuple) -> tuple[float, float]:
    """The cost of the exact tree flow, correctly rounded, and its error bound."""
    _, _, edge_lengths, basic, _ = proof
    sign = np.sign(basic.high)
    cost, err = _certify.exact_dot((np.abs(basic.high), edge_lengths), (sign * basic.low,
                                                                         edge_lengths))
    return cost, err


def _tree_certificate(proof: tuple, cost: float, potential: np.ndarray) -> Certificate:
    """On a tree the feasible flow is unique, so its exact cost is the optimum: the bound
    is the rounding of the reported cost and of the flow.  The flow exists when the
    masses balance exactly (after the exact balancing of totals equal to rounding);
    otherwise nothing is proven and the bound is inf."""
    _, _, edge_lengths, basic, mass = proof
    exact, err = _tree_cost(proof)
    bound = _certify.round_up(
        abs(cost - exact) + err + basic.error * float(edge_lengths.max(initial=0.0))
    ) if basic.unrouted == 0.0 else math.inf
    return Certificate(
        cost=float(cost),
        dual_value=math.nan,  # not used: the proof is the uniqueness of the tree flow
        max_dual_violation=math.nan,  # not used: the tree flow is unique
        worst_pair=(-1, -1),
        marginal_error=0.0,
        unrouted=basic.unrouted,
        mass=mass,
        bound=bound,
    )


def wasserstein_tree(
    parents: ArrayLike,
    edge_lengths: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    normalize: bool = False,
    *,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> float:
    """Wasserstein-1 distance between two distributions on the nodes of a tree.

    The ground metric is the shortest-path distance of the tree with the given
    edge lengths.  Exact, in O(n log depth) time without a Python loop over
    the nodes.

    Parameters
    ----------
    parents : array_like of int, shape (n,)
        ``parents[i]`` is the parent of node ``i``; exactly one entry is -1
        and marks the root.  Must describe a single tree (no cycles).
    edge_lengths : array_like, shape (n,)
        ``edge_lengths[i] >= 0`` is the length of the edge from ``i`` to
        ``parents[i]``; the root's entry is ignored (it may be anything).
    a, b : array_like, shape (n,)
        Nonnegative finite masses on the nodes, moved as given: equal totals,
        by the tolerance of "Total masses" in :mod:`emd`, unless ``normalize``
        is true.
    normalize : bool, default False
        Rescale ``a`` and ``b`` to total mass 1 each.

    Returns
    -------
    float
        The optimal transport cost.

    Raises
    ------
    ValueError
        Malformed ``parents`` (no root or several, an index out of range, a
        self-loop or a cycle), negative or non-finite lengths, invalid masses,
        or unequal totals with ``normalize=False``.

    See Also
    --------
    solve_tree : the same cost with the edge flows and an optimal potential.

    Examples
    --------
    A path 0 - 1 - 2 rooted at 0 with edge lengths 1 and 2: moving all mass
    from node 0 to node 2 costs 3.

    >>> from emd.structured._tree import wasserstein_tree
    >>> wasserstein_tree([-1, 0, 1], [0.0, 1.0, 2.0], [1, 0, 0], [0, 0, 1])
    3.0
    """
    if partial is not None or unbalanced is not None:
        return solve_tree(parents, edge_lengths, a, b, normalize, partial=partial,
                          unbalanced=unbalanced).cost
    *_, proof = _prepare(parents, edge_lengths, a, b, normalize)
    return _tree_cost(proof)[0]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class TreeResult:
    """Optimal transport on a tree.

    Attributes
    ----------
    cost : float
        The Wasserstein-1 distance.
    edge_flows : numpy.ndarray, shape (n,)
        Net mass carried by the edge from node ``i`` to ``parents[i]``,
        positive toward the parent (the surplus of ``a`` over ``b`` in the
        subtree of ``i``); 0 at the root.
    potential : numpy.ndarray, shape (n,)
        An optimal dual potential: 0 at the root, 1-Lipschitz for the tree
        metric, and ``sum(a * potential) - sum(b * potential) == cost``.
    """

    cost: float
    edge_flows: np.ndarray
    potential: np.ndarray
    _proof: Any = field(default=None, repr=False, compare=False)

    def certificate(self) -> Certificate:
        """The proof of :attr:`cost`: on a tree the feasible flow is unique, so the exact
        cost of the exact flow (recomputed in double-double with a rigorous bound) is the
        optimum; the bound counts the rounding of the reported figures."""
        if self._proof is None:
            raise ValueError("this result does not keep its problem; certificate() is unavailable")
        return _tree_certificate(self._proof, self.cost, self.potential)

    def __repr__(self) -> str:
        return f"TreeResult(cost={self.cost:.6g}, n={self.edge_flows.size})"


# Without partial= or unbalanced= the result is the balanced problem's (type checkers
# see it); with either, an UnbalancedResult.
@overload
def solve_tree(
    parents: ArrayLike,
    edge_lengths: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    normalize: bool = ...,
    *,
    partial: None = ...,
    unbalanced: None = ...,
) -> TreeResult: ...


@overload
def solve_tree(
    parents: ArrayLike,
    edge_lengths: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    normalize: bool = ...,
    *,
    partial: float | None = ...,
    unbalanced: float | None = ...,
) -> TreeResult | UnbalancedResult: ...


def solve_tree(
    parents: ArrayLike,
    edge_lengths: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    normalize: bool = False,
    *,
    partial: float | None = None,
    unbalanced: float | None = None,
) -> TreeResult | UnbalancedResult:
    """Cost, edge flows and an optimal potential for transport on a tree.

    Arguments are as in :func:`wasserstein_tree`.  Going from ``parents[v]``
    down to ``v`` the potential rises by ``edge_lengths[v]`` if the subtree of
    ``v`` has a surplus of ``a`` and falls by it on a deficit, which certifies
    the cost.

    Parameters
    ----------
    parents : array_like of int, shape (n,)
        Parent of each node, -1 for the single root.
    edge_lengths : array_like, shape (n,)
        Nonnegative length of the edge to the parent (ignored at the root).
    a, b : array_like, shape (n,)
        Nonnegative masses with equal totals (by the tolerance of "Total
        masses" in :mod:`emd`) unless ``normalize`` is true.
    normalize : bool, default False
        Rescale ``a`` and ``b`` to total mass 1 each.
    unbalanced : float, optional
        Unbalanced W1 (totals need not agree), with one extra node tied to every
        node at this cost: no longer a tree, solved by the network simplex of
        :func:`emd.min_cost_flow` on O(n) arcs.  Returns an
        :class:`emd.unbalanced.UnbalancedResult`; see :mod:`emd.unbalanced`.
    partial : float, optional
        Partial transport, as for :func:`emd.solve_graph` (O(n) arcs).

    Returns
    -------
    TreeResult
        ``cost``, ``edge_flows`` and ``potential``.

    Raises
    ------
    ValueError
        As for :func:`wasserstein_tree`.

    Examples
    --------
    A star with centre 0: mass moves from leaf 1 to leaf 2 through the centre.

    >>> from emd.structured._tree import solve_tree
    >>> res = solve_tree([-1, 0, 0], [0.0, 1.0, 2.0], [0, 1, 0], [0, 0, 1])
    >>> res
    TreeResult(cost=3, n=3)
    >>> res.edge_flows
    array([ 0.,  1., -1.])
    >>> res.potential
    array([ 0.,  1., -2.])
    """
    unequal = check_keywords(partial, unbalanced, normalize)
    if unequal is not None:
        result = _unbalanced_tree(parents, edge_lengths, a, b, unequal)
        warn_status(result.status, None)
        return result
    par, root, lengths, flows, proof = _prepare(parents, edge_lengths, a, b, normalize)
    cost = _tree_cost(proof)[0]
    # Kantorovich potential: each edge contributes +-length according to the
    # direction its flow must take; edges with zero flow contribute nothing.
    potential = _root_path_sums(par, root, lengths * np.sign(flows))
    return TreeResult(cost=cost, edge_flows=flows, potential=potential, _proof=proof)


def _unbalanced_tree(parents, edge_lengths, a, b, unequal) -> UnbalancedResult:
    """Partial or unbalanced transport on a tree: its edges both ways and the extra
    nodes of :func:`emd.unbalanced.solve_arcs` (no longer a tree, O(n) arcs)."""
    par, root = _as_parents(parents)
    n = par.size
    lengths = _as_lengths(edge_lengths, n, root)
    wa = as_weights(a, "a", n)
    wb = as_weights(b, "b", n)
    _subtree_sums(par, root, np.zeros(n))  # refuses a cycle, naming a node on it
    child = np.flatnonzero(par >= 0)
    tails = np.concatenate([child, par[child]])
    heads = np.concatenate([par[child], child])
    costs = np.concatenate([lengths[child], lengths[child]])
    return solve_arcs(tails, heads, costs, wa, wb, *unequal, None)
