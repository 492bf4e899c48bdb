"""The ground metrics' names live in one table (emd._validation.METRIC_TABLE); the
compiled core knows them by integer codes only.  The table's codes must be the core's."""

from emd import _validation
from emd._core import _costs, _grid


def test_the_tables_codes_are_the_cores_constants():
    core = {
        "euclidean": _costs.METRIC_EUCLIDEAN,
        "sqeuclidean": _costs.METRIC_SQEUCLIDEAN,
        "cityblock": _costs.METRIC_CITYBLOCK,
        "chebyshev": _costs.METRIC_CHEBYSHEV,
        "minkowski": _costs.METRIC_MINKOWSKI,
    }
    assert {name: _validation.metric_code(name) for name in _validation.METRICS} == core
    # Distinct codes: a metric could otherwise be evaluated as another.
    assert len(set(core.values())) == len(core)


def test_the_tables_grid_codes_are_the_grid_drivers():
    grid = {name: _validation.grid_metric_code(name) for name in _validation.GRID_METRICS}
    assert grid == _grid.GRID_METRIC_CODES
    assert set(_validation.GRID_METRICS) == {"cityblock", "chebyshev", "euclidean"}


def test_the_core_spells_no_metric_names():
    # The compiled point-cost module exports codes, not a name -> code map.
    assert not any(isinstance(value, dict) and "euclidean" in value
                   for value in vars(_costs).values())
