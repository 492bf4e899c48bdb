"""The distance as a float that, for one release, still answers the old result attributes.

``wasserstein_grid`` and ``wasserstein_graph`` used to return their result
objects; they now return the number, like every ``wasserstein_*``.  Code
that read ``.cost`` or ``.potential`` from them keeps working, with a
``DeprecationWarning`` naming the ``solve_*`` function that returns the
result object.
"""

from __future__ import annotations

import warnings
from typing import Any


class DeprecatedResultFloat(float):
    """A ``float`` (the distance) carrying the result it came from.

    ``float()``, ``round()``, arithmetic, comparisons and format strings
    work silently, as on any float.  Reading a result attribute (``cost``,
    ``potential``, ...) returns it with a ``DeprecationWarning``.  Copies and
    pickles are plain floats.
    """

    __slots__ = ("_function", "_replacement", "_result")
    _function: str
    _replacement: str
    _result: Any

    def __new__(cls, result: Any, function: str, replacement: str) -> DeprecatedResultFloat:
        value = super().__new__(cls, result.cost)
        value._result = result
        value._function = function
        value._replacement = replacement
        return value

    def __getattr__(self, name: str) -> Any:
        # Only called when float itself has no such attribute.
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            value = getattr(self._result, name)
        except AttributeError:
            raise AttributeError(
                f"{self._function} returns a float, which has no attribute {name!r}"
            ) from None
        warnings.warn(
            f"{self._function}() now returns the distance as a float; reading .{name} from it "
            f"is deprecated and will stop working in the next release: use "
            f"emd.{self._replacement}(...).{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(dir(self._result)))

    def __reduce__(self):
        return (float, (float(self),))
