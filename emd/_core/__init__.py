"""The compiled core: the network simplex and the cost oracles it prices with."""

try:
    from emd._core import _costs, _network_simplex
except ImportError as exc:  # the usual cause: importing a source checkout that was never built
    raise ImportError(
        "emd's compiled core is missing: this copy of emd has not been built. Install it with "
        "`pip install .` and import it from outside the source checkout, or build it in place "
        "with `python setup.py build_ext --inplace`"
    ) from exc

__all__ = ["_costs", "_network_simplex"]
