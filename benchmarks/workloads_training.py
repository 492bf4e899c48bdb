"""The training family: one training step's exact W1 loss over a minibatch, forward and
backward, with PyTorch tensors.

A step compares B pairs (generated, real) of n points each in 2-D, uniform weights,
Euclidean ground cost, and differentiates the summed distances with respect to the
generated points.  emd: ``emd.wasserstein_batch`` on the stacked tensors (the pairs
on a thread pool, each solve releasing the GIL; the backward reads the plans kept
from the forward).  The peer: POT's ``ot.emd2`` with torch tensors in a Python loop
over the same pairs, on ``torch.cdist`` of each pair (how a PyTorch user writes the
loss with POT), summed, backward.  Every row checks that both losses agree to 1e-9
and both gradients to 1e-9 (random points: the plans are unique).

Run alone with ``python -m benchmarks.workloads_training [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator

import numpy as np

import emd

from ._timing import measure
from .workloads import _rel

try:
    import ot
except ImportError:  # pragma: no cover - depends on the environment
    ot = None

#: (pairs, points per set).
SIZES = ((64, 256), (64, 512))
QUICK_SIZES = ((64, 256),)


def _batch(pairs: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(pairs, n, 2)), rng.normal(size=(pairs, n, 2)) + 0.5


def _ours_step(xs_np: np.ndarray, ys, jobs: int | None):
    import torch

    xs = torch.tensor(xs_np, requires_grad=True)
    loss = emd.wasserstein_batch(xs, ys, n_jobs=jobs).sum()
    loss.backward()
    return loss.item(), xs.grad.numpy()


def _pot_step(xs_np: np.ndarray, ys):
    import torch

    xs = torch.tensor(xs_np, requires_grad=True)
    n = xs.shape[1]
    weights = torch.full((n,), 1.0 / n, dtype=torch.float64)
    loss = sum(ot.emd2(weights, weights, torch.cdist(x, y), numItermax=10**8)
               for x, y in zip(xs, ys, strict=True))
    loss.backward()
    return loss.item(), xs.grad.numpy()


def training(quick: bool = False, repeat: int = 5) -> Iterator[dict]:
    """Time per training step (forward + backward), ours against POT's loop."""
    import torch

    for pairs, n in QUICK_SIZES if quick else SIZES:
        xs_np, ys_np = _batch(pairs, n)
        ys = torch.tensor(ys_np)
        peer = None
        if ot is not None:
            peer = measure(lambda xs_np=xs_np, ys=ys: _pot_step(xs_np, ys), repeat=repeat,
                           budget=60)
        for jobs, label in ((None, f"every core ({os.cpu_count()})"), (1, "one thread")):
            ours = measure(lambda xs_np=xs_np, ys=ys, jobs=jobs: _ours_step(xs_np, ys, jobs),
                           repeat=repeat, budget=60)
            row = {
                "family": "training",
                "case": f"{pairs} pairs x {n} pts, fwd+bwd, {label}",
                "size": n, "ours_s": ours.seconds, "ours_runs": ours.runs,
                "answer": float(ours.value[0]).hex(),
                "peer": None, "peer_s": None, "ratio": None, "rel_diff": None,
            }
            if peer is not None:
                rel = _rel(ours.value[0], peer.value[0])
                grad_diff = float(np.abs(ours.value[1] - peer.value[1]).max())
                if rel > 1e-9 or grad_diff > 1e-9:
                    raise AssertionError(f"{row['case']}: loss differs from POT's by {rel:.1e}, "
                                         f"gradient by {grad_diff:.1e}")
                row.update(peer="ot.emd2 (torch) in a loop", peer_s=peer.seconds,
                           peer_runs=peer.runs, ratio=ours.seconds / peer.seconds,
                           rel_diff=rel, grad_diff=grad_diff)
            yield row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    for row in training(quick=args.quick):
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.3f}"
        peer = "-" if row["peer_s"] is None else f"{row['peer_s']:.3f} s"
        print(f"{row['case']:<48} ours {row['ours_s']:.3f} s  POT {peer}  ratio {ratio}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
