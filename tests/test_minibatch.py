"""emd.wasserstein_batch: one distance per pair of a minibatch (NumPy inputs)."""

from __future__ import annotations

import numpy as np
import pytest

import emd


def test_counts_must_agree_and_are_named():
    xs, ys = np.zeros((3, 4, 2)), np.ones((2, 4, 2))
    with pytest.raises(ValueError, match="ys has 2 entries but xs has 3"):
        emd.wasserstein_batch(xs, ys)
    with pytest.raises(ValueError, match="a has 2 entries but xs has 3"):
        emd.wasserstein_batch(xs, np.ones((3, 4, 2)), a=np.ones((2, 4)))
    with pytest.raises(ValueError, match="xs is empty"):
        emd.wasserstein_batch([], [])
    with pytest.raises(ValueError, match="xs must stack one entry per pair"):
        emd.wasserstein_batch(np.zeros(3), np.zeros(3))


def test_a_bad_pair_is_named_by_its_entry():
    xs = np.zeros((3, 4, 2))
    xs[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"xs\[2\] has a non-finite coordinate"):
        emd.wasserstein_batch(xs, np.ones((3, 4, 2)))
    with pytest.raises(ValueError, match=r"a\[1\] has a negative weight"):
        emd.wasserstein_batch(np.zeros((2, 3, 2)), np.ones((2, 3, 2)),
                              a=[np.ones(3), np.array([1.0, -1.0, 1.0])])


def test_translation_closed_form():
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(5, 7, 3))
    shifts = rng.normal(size=(5, 1, 3))
    # Moving a whole cloud by t costs exactly |t| (the mean moves by t, and the
    # translation plan achieves it).
    values = emd.wasserstein_batch(xs, xs + shifts)
    np.testing.assert_allclose(values, np.linalg.norm(shifts[:, 0], axis=1), rtol=1e-12)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cityblock"])
def test_each_entry_is_the_single_call_bit_for_bit(metric):
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(n, 2)) for n in (5, 9, 1, 12)]
    ys = [rng.normal(size=(m, 2)) for m in (6, 3, 4, 12)]
    a = [rng.random(x.shape[0]) for x in xs]
    b = [rng.random(y.shape[0]) for y in ys]
    for kwargs in ({}, {"a": a, "b": b}):
        values = emd.wasserstein_batch(xs, ys, metric=metric, n_jobs=2, **kwargs)
        for k in range(len(xs)):
            single = emd.wasserstein(xs[k], ys[k], *(w[k] for w in kwargs.values()),
                                     metric=metric)
            assert values[k] == single


def test_line_and_masses_as_given():
    rng = np.random.default_rng(2)
    xs, ys = rng.normal(size=(4, 30)), rng.normal(size=(4, 20))  # points on the line
    a = np.full((4, 30), 2.0 / 30)
    b = np.full((4, 20), 2.0 / 20)
    values = emd.wasserstein_batch(xs, ys, a, b, normalize=False)
    for k in range(4):
        assert values[k] == emd.wasserstein(xs[k], ys[k], a[k], b[k], normalize=False)
        assert values[k] == pytest.approx(2 * emd.wasserstein_1d(xs[k], ys[k]), rel=1e-12)


def test_threads_do_not_change_the_answer():
    rng = np.random.default_rng(3)
    xs, ys = rng.random((16, 40, 2)), rng.random((16, 40, 2))
    np.testing.assert_array_equal(emd.wasserstein_batch(xs, ys, n_jobs=1),
                                  emd.wasserstein_batch(xs, ys, n_jobs=-1))
