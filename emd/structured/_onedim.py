"""Exact Wasserstein-1 distance between distributions on the real line.

On the line the optimal plan is the monotone (north-west corner) coupling of
the sorted supports, and

.. math:: W_1(\\mu, \\nu) = \\int |F_\\mu(t) - F_\\nu(t)|\\,dt
                          = \\int_0^1 |F_\\mu^{-1}(q) - F_\\nu^{-1}(q)|\\,dq,

so everything costs one sort, O(n log n), instead of a network simplex.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from math import gcd
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from scipy import sparse

from emd import _certify
from emd._arrays import has_tensor, twin
from emd._certify import UNIT_ROUNDOFF, exact_dot, round_up
from emd._core._line import line_cost
from emd._result import Certificate

from .._validation import as_float_array, as_weights, check_finite

__all__ = ["OneDimResult", "solve_1d", "wasserstein_1d"]


def _as_values(value: Any, name: str) -> np.ndarray:
    x = as_float_array(value, name, 1)
    if x.size == 0:
        raise ValueError(f"{name} is empty: a distribution needs at least one point")
    check_finite(x, name, "value")
    return x


def _check_span(x: np.ndarray, y: np.ndarray) -> float:
    """The length of the merged support, refused if sums over it could overflow."""
    span = float(max(x.max(), y.max())) - float(min(x.min(), y.min()))
    if not math.isfinite(span * 4.0 * (x.size + y.size)):
        raise ValueError(
            f"the values span {span:.3g}, too wide for float64 sums over {x.size + y.size} points"
        )
    return span


def _raw_weights(value: Any, name: str, size: int) -> np.ndarray | None:
    # None stays None so the uniform case never materialises a weight array.
    return None if value is None else as_weights(value, name, size)


def _is_sorted(x: np.ndarray) -> bool:
    # One vectorised pass (~0.4 ms per 10^6) that lets presorted input skip the sort.
    return bool(np.all(x[1:] >= x[:-1]))


#: Elements per block in the streaming loops below.  Working in cache-sized
#: blocks keeps every temporary small and reused: fresh multi-megabyte arrays
#: cost more in page faults than the arithmetic done on them.  The loops use
#: multiply + sum rather than np.dot: a threaded BLAS call per block costs
#: milliseconds of thread wake-up when the cores are busy.
_BLOCK = 1 << 15


def _quantile_side(
    xs: np.ndarray, ys: np.ndarray, rx: int, ry: int, owns_ties: bool
) -> float:
    """Part of ``integral |Q_x - Q_y|`` on the intervals that end at a level of ``x``.

    Levels are integers in units of ``1/lcm(n, m)``: ``x`` has ``(k+1)*rx`` and
    ``y`` has ``(l+1)*ry``.  Every interval of the merged level grid ends at a
    level of one side, so summing both sides covers the integral once; a level
    shared by both sides is counted by the side with ``owns_ties``.  The result
    is in units of ``1/lcm``.
    """
    total = 0.0
    for start in range(0, xs.size, _BLOCK):
        k = np.arange(start, min(start + _BLOCK, xs.size), dtype=np.int64)
        level = k + 1
        level *= rx
        # Index of the y quantile on (previous level, level]: ceil(level/ry) - 1.
        other = level - 1
        other //= ry
        if owns_ties:
            # Previous level of y strictly below ours.
            prev = other * ry
        else:
            # Previous level of y at or below ours: a tie gives a zero width.
            prev = level // ry
            prev *= ry
        k *= rx
        np.maximum(prev, k, out=prev)
        level -= prev
        gap = ys[other]
        gap -= xs[start : start + _BLOCK]
        np.abs(gap, out=gap)
        gap *= level
        total += float(gap.sum())
    return total


def _uniform_cost(u: np.ndarray, v: np.ndarray, span: float = 0.0) -> float:
    """W1 between two uniform empirical measures via the quantile functions.

    ``W1 = integral over q in (0, 1] of |Q_u(q) - Q_v(q)|``.  This form needs
    only the two sorted arrays (no merged sort, no permutation, no weights),
    which is what makes the unweighted case run at sorting speed.
    """
    n, m = u.size, v.size
    g = gcd(n, m)
    nr, mr = n // g, m // g
    if n * mr >= 2**62 or not math.isfinite(span * n * mr):
        # lcm(n, m) would overflow the int64 level arithmetic (only for
        # coprime sizes beyond ~2**31 each), or the sums in units of 1/lcm
        # the float64 range; the CDF route has no such limit.
        return _weighted_cost(u, v, None, None)
    us = u if _is_sorted(u) else np.sort(u)
    vs = v if _is_sorted(v) else np.sort(v)
    if n == m:
        # Both quantile functions jump at the same levels k/n.
        total = 0.0
        buf = np.empty(min(n, _BLOCK))
        for start in range(0, n, _BLOCK):
            block = buf[: min(_BLOCK, n - start)]
            np.subtract(us[start : start + _BLOCK], vs[start : start + _BLOCK], out=block)
            np.abs(block, out=block)
            total += float(block.sum())
        return total / n
    # The levels i/n and j/m become the integers i*mr and j*nr in units of
    # 1/lcm(n, m): exact, so no level lands on the wrong side of another.
    total = _quantile_side(us, vs, mr, nr, owns_ties=True)
    total += _quantile_side(vs, us, nr, mr, owns_ties=False)
    return total / (n * mr)


def _weighted_cost(
    u: np.ndarray, v: np.ndarray, uw: np.ndarray | None, vw: np.ndarray | None
) -> float:
    """W1 from the CDFs: integral of |F_u - F_v| over the gaps of the merged support."""
    n, size = u.size, u.size + v.size
    vals = np.concatenate((u, v))
    # Stable sort (timsort) of two presorted runs only merges them, O(n);
    # otherwise the default (SIMD quicksort) argsort is the fastest.  Order
    # among equal values is irrelevant: they are separated by zero-width gaps.
    presorted = _is_sorted(u) and _is_sorted(v)
    order = np.argsort(vals, kind="stable" if presorted else None)
    # Signed normalised weights: the running sum in sorted order is F_u - F_v.
    signed = np.empty(size)
    if uw is None:
        signed[:n] = 1.0 / n
    else:
        np.divide(uw, uw.sum(), out=signed[:n])
    if vw is None:
        signed[n:] = -1.0 / v.size
    else:
        np.divide(vw, -vw.sum(), out=signed[n:])

    # The running sum is a double-double (a weight far below the running total
    # would vanish from a plain cumsum, and with it its share of the distance),
    # and each gap's share an exact product, in one compiled pass.
    return line_cost(vals[order], signed[order])


def wasserstein_1d(
    u_values: ArrayLike,
    v_values: ArrayLike,
    u_weights: ArrayLike | None = None,
    v_weights: ArrayLike | None = None,
) -> float:
    """Wasserstein-1 distance between two distributions on the real line.

    Same meaning and argument order as :func:`scipy.stats.wasserstein_distance`:
    each side is normalised by its own total weight.  Runs in O(n log n), one
    sort (or argsort, with weights) and linear work; already sorted inputs skip
    the sort.

    Parameters
    ----------
    u_values, v_values : array_like, shape (n,) and (m,)
        Support points (finite).  They need not be sorted or distinct.
    u_weights, v_weights : array_like, optional
        Nonnegative finite weights, one per point, with a positive sum.
        ``None`` means uniform.

    Returns
    -------
    float
        :math:`\\int |F_u(t) - F_v(t)|\\,dt`.
        For PyTorch tensors or JAX arrays: a 0-d tensor of the inputs' kind,
        differentiable in the values and the weights (README: "Training with PyTorch or
        JAX").

    Raises
    ------
    ValueError
        Empty or non-finite values, negative or non-finite weights, a weight
        array whose length differs from its values, or zero total weight.

    See Also
    --------
    solve_1d : the same distance together with the optimal plan and potentials.

    Examples
    --------
    >>> from emd.structured._onedim import wasserstein_1d
    >>> wasserstein_1d([0, 1, 3], [5, 6, 8])
    5.0
    >>> round(wasserstein_1d([3.4, 3.9, 7.5, 7.8], [4.5, 1.4],
    ...                      [1.4, 0.9, 3.1, 7.2], [3.2, 3.5]), 6)
    4.078133
    """
    if has_tensor((u_values, v_values, u_weights, v_weights)):  # PyTorch or JAX: the twin
        return twin("emd._autodiff._transport:wasserstein_1d")(
            u_values, v_values, u_weights, v_weights)
    u = _as_values(u_values, "u_values")
    v = _as_values(v_values, "v_values")
    span = _check_span(u, v)
    uw = _raw_weights(u_weights, "u_weights", u.size)
    vw = _raw_weights(v_weights, "v_weights", v.size)
    if uw is None and vw is None:
        return _uniform_cost(u, v, span)
    return _weighted_cost(u, v, uw, vw)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class OneDimResult:
    """Optimal transport between two distributions on the line.

    Attributes
    ----------
    cost : float
        The Wasserstein-1 distance.
    plan : scipy.sparse.coo_array, shape (n, m)
        The monotone optimal plan in the original (unsorted) order of the
        inputs; it stores only positive masses (at most n + m - 1 of them) and
        its marginals are the normalised weights ``a`` and ``b``.
    u, v : numpy.ndarray, shape (n,) and (m,)
        Dual potentials: ``u[i] + v[j] <= |x[i] - y[j]|`` for all pairs and
        ``a @ u + b @ v == cost``.  They are ``u = f(x)`` and ``v = -f(y)`` for
        the 1-Lipschitz potential ``f`` (see :meth:`potential`).
    """

    cost: float
    plan: sparse.coo_array
    u: np.ndarray
    v: np.ndarray
    _knots: np.ndarray = field(repr=False)
    _knot_values: np.ndarray = field(repr=False)
    _proof: tuple | None = field(default=None, repr=False, compare=False)

    def certificate(self) -> Certificate:
        """The proof of :attr:`cost` on the line.

        The monotone plan is optimal for ``|s - t|`` (a Monge cost), so no dual is
        needed: the plan's entries are exact to one rounding (north-west corner
        in integer arithmetic), its cost is summed with exact products, and the
        bound counts those roundings, the reported cost's own, and 2u of the cost
        for the rounding of each ``fl(|s - t|)``, which can break the Monge
        property by that much.
        """
        if self._proof is None:
            raise ValueError("this result does not keep its problem; certificate() is unavailable")
        x, y, rows, cols, high, low = self._proof
        distances = np.abs(x[rows] - y[cols])
        exact, err = exact_dot((high, distances), (low, distances))
        # Entries too small for float64 (high == 0) are each below the smallest subnormal.
        lost = 2.0**-1074 * float(distances[high == 0].sum())
        bound = round_up(
            abs(self.cost - exact) + err + UNIT_ROUNDOFF * float(np.abs(low) @ distances)
            + 3 * UNIT_ROUNDOFF * abs(exact) + lost
        )
        return Certificate(
            cost=self.cost,
            dual_value=math.fsum(self.plan.sum(axis=1) * self.u)
            + math.fsum(self.plan.sum(axis=0) * self.v),
            max_dual_violation=math.nan,  # not used: the plan is optimal by the Monge property
            worst_pair=(-1, -1),
            marginal_error=0.0,
            unrouted=0.0,
            mass=1.0,
            bound=bound,
        )

    def potential(self, z: ArrayLike) -> np.ndarray | float:
        """Evaluate the Kantorovich potential ``f`` at arbitrary points.

        ``f(t) = integral from min(x, y) to t of sign(F_v(s) - F_u(s)) ds``: it
        is 1-Lipschitz, piecewise linear between the support points and
        constant outside their range.  It falls where ``F_u > F_v`` (mass has
        to move right) and rises where ``F_u < F_v``, so that
        ``E_u[f] - E_v[f]`` equals the cost.

        Examples
        --------
        >>> from emd.structured._onedim import solve_1d
        >>> res = solve_1d([0.0], [2.0])
        >>> res.potential([-1.0, 0.0, 1.0, 2.0, 3.0])
        array([ 0.,  0., -1., -2., -2.])
        """
        return np.interp(np.asarray(z, dtype=np.float64), self._knots, self._knot_values)

    def dense_plan(self) -> np.ndarray:
        """The plan as a dense ``(n, m)`` array.

        Examples
        --------
        >>> from emd.structured._onedim import solve_1d
        >>> solve_1d([1.0, 0.0], [0.5, 2.0]).dense_plan()
        array([[0. , 0.5],
               [0.5, 0. ]])
        """
        return self.plan.toarray()

    def __repr__(self) -> str:
        n, m = self.plan.shape
        return f"OneDimResult(cost={self.cost:.6g}, n={n}, m={m}, nnz={self.plan.nnz})"


def solve_1d(
    u_values: ArrayLike,
    v_values: ArrayLike,
    u_weights: ArrayLike | None = None,
    v_weights: ArrayLike | None = None,
) -> OneDimResult:
    """Optimal plan, cost and dual potentials for a 1-D Wasserstein-1 problem.

    Arguments are as in :func:`wasserstein_1d`; weights are normalised by their
    own sums.  The plan is the north-west corner rule applied to the sorted
    supports, which is optimal for any convex cost of ``x - y``, in particular
    ``|x - y|``.

    Parameters
    ----------
    u_values, v_values : array_like, shape (n,) and (m,)
        Support points (finite).
    u_weights, v_weights : array_like, optional
        Nonnegative finite weights with a positive sum; ``None`` means uniform.

    Returns
    -------
    OneDimResult
        ``cost``, sparse ``plan`` in the input order, dual potentials ``u`` and
        ``v``, and :meth:`OneDimResult.potential`.

    Raises
    ------
    ValueError
        As for :func:`wasserstein_1d`.

    Examples
    --------
    >>> from emd.structured._onedim import solve_1d
    >>> res = solve_1d([0.0, 1.0], [1.0, 3.0])
    >>> res
    OneDimResult(cost=1.5, n=2, m=2, nnz=2)
    >>> res.dense_plan()
    array([[0.5, 0. ],
           [0. , 0.5]])
    >>> float(0.5 * res.u.sum() + 0.5 * res.v.sum())
    1.5
    """
    x = _as_values(u_values, "u_values")
    y = _as_values(v_values, "v_values")
    n, m = x.size, y.size
    _check_span(x, y)
    ra = np.ones(n) if u_weights is None else as_weights(u_weights, "u_weights", n)
    rb = np.ones(m) if v_weights is None else as_weights(v_weights, "v_weights", m)

    vals = np.concatenate((x, y))
    # Stable, so equal values keep input order and the plan is deterministic.
    order = np.argsort(vals, kind="stable")
    from_u = order < n
    perm_u = order[from_u]
    perm_v = order[~from_u] - n
    sorted_vals = vals[order]
    gaps = np.diff(sorted_vals)

    # The sign of F_u - F_v on each gap [s_k, s_{k+1}) of the merged support,
    # exactly (tiny weights beside large ones count).  f' = sign(F_v - F_u);
    # where the CDFs agree any slope is optimal and 0 is taken.
    cost = _weighted_cost(x, y, ra, rb)
    signs = _certify.cdf_difference_signs(order, ra, rb)[:-1]
    knot_values = np.concatenate(([0.0], np.cumsum(-signs * gaps)))
    u_pot = np.empty(n)
    u_pot[perm_u] = knot_values[from_u]
    v_pot = np.empty(m)
    # 0 - f rather than -f: no -0.0 entries in the output.
    v_pot[perm_v] = 0.0 - knot_values[~from_u]
    distinct = np.concatenate(([True], gaps > 0))
    # The monotone plan, entries exact to one rounding: north-west corner in
    # integer arithmetic on the sorted supports.
    rows, cols, high, low = _certify.monotone_plan(x, y, ra, rb, normalize=True)
    from scipy import sparse  # only when a plan is built

    # An entry below the smallest subnormal rounds to 0: the plan cannot hold it
    # (the certificate counts it, see OneDimResult.certificate).
    kept = high > 0
    plan = sparse.coo_array((high[kept], (rows[kept], cols[kept])), shape=(n, m))

    return OneDimResult(
        cost=cost,
        plan=plan,
        u=u_pot,
        v=v_pot,
        _knots=sorted_vals[distinct],
        _knot_values=knot_values[distinct],
        _proof=(x, y, rows, cols, high, low),
    )
