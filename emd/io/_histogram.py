"""The record a reader returns, and the error every file problem becomes."""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from .._validation import as_float_array, check_weight_values
from .._validation import as_points as _as_point_array

PathLike = str | os.PathLike[str]

KINDS = ("points", "grid")
STDIN_NAME = "<stdin>"


class HistogramFileError(ValueError):
    """A file (or standard input) that cannot be read or written as requested.

    The message is one line of the form ``"<file>: <problem>"``; the file name
    is also available as :attr:`source`.  Being a :class:`ValueError`, it is
    caught by code that handles bad input in general.

    Attributes
    ----------
    source : str or None
        The file named in the message (``"<stdin>"`` for standard input), if known.

    Examples
    --------
    >>> err = HistogramFileError("a.csv: empty file", source="a.csv")
    >>> isinstance(err, ValueError), err.source
    (True, 'a.csv')
    """

    def __init__(self, message: str, *, source: str | None = None) -> None:
        # Library messages (json, numpy, Pillow) sometimes span lines; the CLI
        # prints ours verbatim, so keep them on one.
        super().__init__(" ".join(str(message).split()))
        self.source = source


def _fail(source: str, problem: str) -> HistogramFileError:
    return HistogramFileError(f"{source}: {problem}", source=source)


# ---------------------------------------------------------------------------
# The Histogram record
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Histogram:
    """A distribution read from a file: weights on a grid or on a point set.

    Parameters
    ----------
    weights : numpy.ndarray
        Nonnegative finite float64 weights with positive total mass.  1-D for
        a point set or a 1-D grid (weights only), 2-D or 3-D for a grid.
    positions : numpy.ndarray or None
        Point coordinates, shape ``(n, d)``, for ``kind="points"``; ``None``
        for a grid, whose bins sit at integer coordinates.
    source : str
        Where the data came from: a file name or ``"<stdin>"``.
    kind : {"points", "grid"}, optional
        Inferred from ``positions`` when omitted.

    Raises
    ------
    HistogramFileError
        If the fields are inconsistent or the weights invalid; the message
        names ``source``.

    Notes
    -----
    Instances compare by identity (``eq=False``): comparing arrays elementwise
    has no single truth value.

    Examples
    --------
    >>> h = Histogram(np.array([[0.0, 1.0], [2.0, 1.0]]), source="grid.npy")
    >>> h
    Histogram(kind='grid', shape=(2, 2), mass=4, source='grid.npy')
    >>> h.ndim_grid
    2
    >>> positions, weights = h.as_points()
    >>> positions
    array([[0., 0.],
           [0., 1.],
           [1., 0.],
           [1., 1.]])
    >>> weights
    array([0., 1., 2., 1.])
    """

    weights: np.ndarray
    positions: np.ndarray | None = None
    source: str = "<array>"
    kind: str | None = None

    def __post_init__(self) -> None:
        source = self.source
        kind = self.kind
        if kind is None:
            kind = "grid" if self.positions is None else "points"
        if kind not in KINDS:
            raise _fail(source, f"kind must be 'points' or 'grid', got {kind!r}")
        positions = None
        try:
            if kind == "grid":
                if self.positions is not None:
                    raise ValueError("a grid histogram has no positions; use kind='points'")
                weights = as_float_array(self.weights, "weights", (1, 2, 3))
            else:
                if self.positions is None:
                    raise ValueError("a point set needs positions")
                weights = as_float_array(self.weights, "weights", 1)
                positions = _as_point_array(self.positions, "positions")
                if positions.shape[0] != weights.size:
                    raise ValueError(f"{positions.shape[0]} positions but {weights.size} weights")
            if weights.size == 0:
                raise ValueError("no weights (empty data)")
            check_weight_values(weights, "weights")
        except (TypeError, ValueError) as exc:
            raise _fail(source, str(exc)) from None
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "positions", positions)
        object.__setattr__(self, "kind", kind)

    @property
    def ndim_grid(self) -> int | None:
        """Number of grid axes (1, 2 or 3) for a grid; ``None`` for a point set."""
        return self.weights.ndim if self.kind == "grid" else None

    @property
    def dim(self) -> int:
        """Dimension of the space the mass lives in (grid axes or coordinates per point)."""
        if self.positions is not None:
            return int(self.positions.shape[1])
        return self.weights.ndim

    @property
    def mass(self) -> float:
        """Total mass, summed without cancellation error."""
        return math.fsum(self.weights.ravel().tolist())

    def as_points(self, *, nonzero: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Return the distribution as ``(positions, weights)`` of shapes (n, d) and (n,).

        Grid bins become points at their float index coordinates ``(i, j, k)``,
        enumerated in C order, so point ``m`` is ``weights.ravel()[m]``.

        Parameters
        ----------
        nonzero : bool, default False
            Drop bins or points of zero weight; they carry no mass but would
            still enlarge a transport problem.

        Returns
        -------
        positions : numpy.ndarray
            Float64 array of shape (n, d).
        weights : numpy.ndarray
            Float64 array of shape (n,).

        Examples
        --------
        >>> h = Histogram(np.array([3.0, 0.0, 1.0]))
        >>> pos, w = h.as_points(nonzero=True)
        >>> pos.ravel(), w
        (array([0., 2.]), array([3., 1.]))
        """
        if self.positions is not None:
            positions, weights = self.positions, self.weights
        else:
            shape = self.weights.shape
            positions = np.indices(shape, dtype=np.float64).reshape(len(shape), -1).T
            positions = np.ascontiguousarray(positions)
            weights = self.weights.ravel()
        if nonzero:
            keep = weights > 0
            positions, weights = positions[keep], weights[keep]
        return positions, weights

    def __repr__(self) -> str:
        if self.kind == "points":
            size = f"n={self.weights.size}, dim={self.dim}"
        else:
            size = f"shape={self.weights.shape}"
        mass = f"{self.mass:.6g}"
        return f"Histogram(kind={self.kind!r}, {size}, mass={mass}, source={self.source!r})"
