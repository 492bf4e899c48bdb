"""The compiled core: the network simplex and the cost oracles it prices with."""

try:
    from emd._core import _certify, _costs, _few_sources, _grid, _line, _pair, _starts, _tree
except ImportError as exc:  # the usual cause: importing a source checkout that was never built
    raise ImportError(
        "emd's compiled core is missing: this copy of emd has not been built. From the root of "
        "the source checkout, `pip install -e .` compiles it in place (pip fetches Cython and "
        "setuptools itself); or install a release with `pip install emd-ot`"
    ) from exc

__all__ = ["_certify", "_costs", "_few_sources", "_grid", "_line", "_pair", "_starts", "_tree"]
