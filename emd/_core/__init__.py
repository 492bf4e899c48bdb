"""The compiled core: the network simplex and the cost oracles it prices with."""

try:
    # Every compiled room, so that a partial build fails here too.  (mypy cannot see
    # compiled modules, which have no stubs: their signatures are pinned by the tests.)
    from emd._core import (  # type: ignore[attr-defined]
        _certify,
        _costs,
        _few_sources,
        _grid,
        _line,
        _pair,
        _pricing,
        _starts,
        _tree,
    )
except ImportError as exc:  # the usual cause: importing a source checkout that was never built
    raise ImportError(
        "emd's compiled core is missing: this copy of emd has not been built. From the root of "
        "the source checkout, `pip install -e .` compiles it in place (pip fetches Cython and "
        "setuptools itself); or install a release with `pip install emd-ot`"
    ) from exc

__all__ = [
    "_certify", "_costs", "_few_sources", "_grid", "_line", "_pair", "_pricing", "_starts", "_tree",
]
