"""Train a generator twice: on the exact minibatch W1, and against a WGAN critic.

The data are scikit-learn's handwritten digits (8 x 8 images), projected on their
first two principal components: a 2-D cloud with a lobe per digit.  A small
PyTorch generator maps Gaussian noise to that plane, and is trained twice from the
same initial weights, with the same optimizer and the same number of steps:

* **exact W1**: the loss of a step is the mean exact Wasserstein-1 distance of a
  few pairs (generated batch, real batch), ``emd.wasserstein_batch`` on the
  tensors; its gradient moves each generated point along the optimal plan
  (Kantorovich-Rubinstein duality made concrete: the potentials are the ideal
  critic, with no network to train);
* **WGAN-GP**: a critic network is trained to maximise
  ``E_real f - E_fake f`` with a gradient penalty pushing it toward 1-Lipschitz,
  five critic steps per generator step, and the generator minimises
  ``-E_fake f``.  The critic's value ``E_real f - E_fake f`` is its own estimate
  of W1.

Every few steps both generators are judged the same way: the exact W1 between
500 generated points and 500 held-out real points (never used for training),
proven optimal by its certificate.  The critic's estimate is printed beside it.

Run ``python examples/training_wgan.py [--out DIR] [--small]``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np

try:
    import emd
except ImportError:  # run from a source checkout that is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import emd

NOISE = 4          # dimension of the generator's input noise
HIDDEN = 64        # width of the hidden layers of both networks
BATCH = 256        # generated (and real) points per generator step, both methods
PAIRS = 4          # the exact loss: the batch as 4 pairs of 64 generated vs 64 real points
# WGAN-GP (Gulrajani et al. 2017): five critic steps per generator step; the penalty
# weight of the paper's 2-D toy problems (its 10 for images moved W1 no faster here).
N_CRITIC, GP_WEIGHT = 5, 0.1
LR, BETAS = 1e-3, (0.5, 0.9)   # Adam, the same for every network


def digits_plane(seed: int, held_out: int):
    """The digits' first two principal components, scaled to unit spread; a training set
    and a held-out set of ``held_out`` points."""
    from sklearn.datasets import load_digits

    X = load_digits().data
    X = X - X.mean(axis=0)
    _, _, vt = np.linalg.svd(X, full_matrices=False)
    plane = X @ vt[:2].T
    plane /= plane.std()
    order = np.random.default_rng(seed).permutation(len(plane))
    return plane[order[held_out:]], plane[order[:held_out]]


def mlp(torch, sizes):
    layers = []
    for k, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(torch.nn.Linear(n_in, n_out))
        if k < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def exact_w1(torch, generator, held, seed):
    """The judge: exact W1 between generated points and the held-out real points."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        fake = generator(torch.randn(len(held), NOISE, generator=gen, dtype=torch.float64))
    result = emd.solve_points(fake.numpy(), held, normalize=True)
    assert result.certificate().optimal()
    return result.cost, fake.numpy()


def train(method: str, steps: int, every: int, train_set, held, seed: int):
    """Train one generator; return the evaluations ``(step, exact W1, estimate)`` and the
    final generated points.  ``estimate`` is the critic's (WGAN-GP) or the step's loss
    (exact W1)."""
    import torch

    torch.manual_seed(seed)  # the same initial generator for both methods
    generator = mlp(torch, [NOISE, HIDDEN, HIDDEN, 2]).double()
    g_opt = torch.optim.Adam(generator.parameters(), lr=LR, betas=BETAS)
    if method == "wgan-gp":
        critic = mlp(torch, [2, HIDDEN, HIDDEN, 1]).double()
        c_opt = torch.optim.Adam(critic.parameters(), lr=LR, betas=BETAS)
    real_all = torch.tensor(train_set)
    rng = torch.Generator().manual_seed(seed + 1)
    held_t = torch.tensor(held)
    history, estimate = [], float("nan")

    def real_batch(size):
        return real_all[torch.randint(len(real_all), (size,), generator=rng)]

    def noise(size):
        return torch.randn(size, NOISE, generator=rng, dtype=torch.float64)

    for step in range(steps + 1):
        if step % every == 0:
            w1, fake = exact_w1(torch, generator, held, seed=step)
            if method == "wgan-gp":
                with torch.no_grad():
                    estimate = float(critic(held_t).mean()
                                     - critic(torch.tensor(fake)).mean())
            history.append((step, w1, estimate))
        if step == steps:
            break
        if method == "exact":
            fake = generator(noise(BATCH)).view(PAIRS, BATCH // PAIRS, 2)
            real = real_batch(BATCH).view(PAIRS, BATCH // PAIRS, 2)
            loss = emd.wasserstein_batch(fake, real).mean()
            estimate = loss.item()
        else:
            for _ in range(N_CRITIC):
                real, fake = real_batch(BATCH), generator(noise(BATCH)).detach()
                mix = torch.rand(BATCH, 1, generator=rng, dtype=torch.float64)
                between = (mix * real + (1 - mix) * fake).requires_grad_(True)
                (slope,) = torch.autograd.grad(critic(between).sum(), between,
                                               create_graph=True)
                penalty = ((slope.norm(dim=1) - 1) ** 2).mean()
                c_loss = critic(fake).mean() - critic(real).mean() + GP_WEIGHT * penalty
                c_opt.zero_grad()
                c_loss.backward()
                c_opt.step()
            loss = -critic(generator(noise(BATCH))).mean()
        g_opt.zero_grad()
        loss.backward()
        g_opt.step()
    return np.array(history), fake


def plot(runs, held, floor, path):
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed (pip install 'emd-ot[plot]'): no figure written")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2),
                             gridspec_kw={"width_ratios": [1.5, 1, 1]})
    ax = axes[0]
    colours = {"exact": "tab:blue", "wgan-gp": "tab:red"}
    for method, (history, _) in runs.items():
        label = "exact minibatch W1 loss" if method == "exact" else "WGAN-GP"
        ax.plot(history[:, 0], history[:, 1], color=colours[method], lw=2,
                label=f"{label}: exact W1 to held-out data")
    wgan = runs["wgan-gp"][0]
    ax.plot(wgan[1:, 0], wgan[1:, 2], color="tab:red", ls="--",
            label="WGAN-GP: the critic's own estimate")
    ax.axhline(floor, color="grey", ls=":", label="exact W1, real vs real (sampling floor)")
    ax.axhline(0.0, color="black", lw=0.5)
    ax.set_xlabel("generator step")
    ax.set_ylabel("W1 to held-out digits (500 vs 500 points)")
    top = max(float(np.max(h[:, 1])) for h, _ in runs.values())
    ax.set_ylim(min(-0.1, float(np.min(wgan[1:, 2])) - 0.05), 1.1 * top)
    ax.legend(fontsize=8)
    ax.set_title("The same generator, two losses")
    for ax, (method, (history, fake)) in zip(axes[1:], runs.items(), strict=True):
        ax.scatter(held[:, 0], held[:, 1], s=4, color="grey", alpha=0.5, label="held-out digits")
        ax.scatter(fake[:, 0], fake[:, 1], s=4, color=colours[method], alpha=0.6,
                   label="generated")
        ax.set_title(f"{method}: final W1 = {history[-1, 1]:.3f}")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "output",
                        help="folder for the figure (default: examples/output)")
    parser.add_argument("--small", action="store_true", help="fewer steps and points (fast)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("this example needs PyTorch: pip install 'emd-ot[torch]'")
        return 0
    torch.set_num_threads(1)  # tiny networks: threads cost more than they give
    steps, every, held_out = (40, 20, 200) if args.small else (600, 30, 500)
    train_set, held = digits_plane(args.seed, held_out)
    floor = emd.wasserstein(train_set[:held_out], held)
    print(f"digits on their first two principal components: {len(train_set)} training, "
          f"{len(held)} held-out points")
    print(f"exact W1 between {held_out} training and the held-out points = {floor:.6f}")
    runs = {}
    for method in ("exact", "wgan-gp"):
        start = time.perf_counter()
        runs[method] = train(method, steps, every, train_set, held, args.seed)
        seconds = time.perf_counter() - start
        print(f"{method} training time = {seconds:.1f} s ({1e3 * seconds / steps:.1f} ms a step, "
              "evaluations included)")
    exact, wgan = runs["exact"][0], runs["wgan-gp"][0]
    print(f"{'step':>6} {'W1 exact-loss':>14} {'W1 WGAN-GP':>11} {'critic says':>12}")
    for row_exact, row_wgan in zip(exact, wgan, strict=True):
        print(f"{int(row_exact[0]):>6d} {row_exact[1]:>14.6f} {row_wgan[1]:>11.6f} "
              f"{row_wgan[2]:>12.6f}")
    print(f"initial W1 = {exact[0, 1]:.6f}")
    print(f"final W1 with the exact loss = {exact[-1, 1]:.6f}")
    print(f"final W1 with WGAN-GP = {wgan[-1, 1]:.6f}")
    print(f"final critic estimate = {wgan[-1, 2]:.6f}")
    gap = np.abs(wgan[1:, 2] - wgan[1:, 1])
    print(f"critic estimate vs exact W1: mean |difference| = {gap.mean():.6f}, "
          f"largest = {gap.max():.6f}")
    args.out.mkdir(parents=True, exist_ok=True)
    path = plot(runs, held, floor, args.out / "training_wgan.png")
    if path is not None:
        print(f"figure: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
