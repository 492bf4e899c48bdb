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
    driver = {
        "cityblock": _grid.GRID_METRIC_CITYBLOCK,
        "chebyshev": _grid.GRID_METRIC_CHEBYSHEV,
        "euclidean": _grid.GRID_METRIC_EUCLIDEAN,
    }
    grid = {name: _validation.grid_metric_code(name) for name in _validation.GRID_METRICS}
    assert grid == driver
    assert len(set(driver.values())) == len(driver)


def test_the_core_spells_no_metric_names():
    # The compiled point-cost module and the grid driver export codes, not a
    # name -> code map.
    for module in (_costs, _grid):
        assert not any(isinstance(value, dict) and "euclidean" in value
                       for value in vars(module).values())
