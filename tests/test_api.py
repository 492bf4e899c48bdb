"""The public API, pinned: every public name and every signature, written out literally.

A refactor must leave this file passing unchanged.  A deliberate change of the
API shows up as an edited row here, in the same commit that makes it.

The rows cover ``emd.__all__`` and the ``__all__`` of the public modules
``emd.divergences``, ``emd.dual``, ``emd.compat.pot``, ``emd.io`` and ``emd.cli``: each function's
``inspect.signature``, each class's constructor signature (or its bases, for
exception classes), each public method's signature, and each public
attribute (dataclass field or property) as ``"attribute"``.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import types

import pytest

PUBLIC_NAMES = {
    "emd": [
        "Certificate", "FlowResult", "GraphResult", "GridResult", "NeighborsResult",
        "OneDimResult", "SolverWarning", "TransportResult", "TreeResult", "__version__",
        "cdist", "divergences", "dual", "knn", "min_cost_flow", "pairwise", "solve", "solve_1d",
        "solve_graph", "solve_grid", "solve_points", "solve_tree", "wasserstein",
        "wasserstein_1d", "wasserstein_batch", "wasserstein_graph", "wasserstein_grid",
        "wasserstein_tree",
    ],
    "emd.divergences": [
        "cross_entropy", "entropy", "js", "kl", "tv",
    ],
    "emd.dual": [
        "BoundedWitness", "CriticAudit", "DualCertificate", "HeldoutEstimate", "PartialDual",
        "PermutationTest", "PluginEstimate", "ProjectionWitness", "SlicedEstimate",
        "TrainedCritic", "W1Bracket", "WideBracketWarning", "Witness", "audit_critic",
        "certify", "kr_witness", "max_sliced_w1", "partial_dual", "permutation_test",
        "sliced_w1", "train_critic", "unbalanced_witness", "w1_bracket", "w1_heldout_lower",
        "w1_plugin", "witness_from_result",
    ],
    "emd.compat.pot": [
        "POTCompatError", "emd", "emd2", "emd2_lazy", "partial",
    ],
    "emd.compat.pot_partial": [
        "partial_wasserstein", "partial_wasserstein2", "partial_wasserstein_lagrange",
    ],
    "emd.unbalanced": [
        "UnbalancedResult",
    ],
    "emd.io": [
        "Histogram", "HistogramFileError", "atomic_batch", "atomic_open", "atomic_write",
        "labels_path", "read_cost_matrix", "read_histogram", "write_labels", "write_matrix",
        "write_plan", "write_vector",
    ],
    "emd.cli": [
        "EXIT_INPUT", "EXIT_INTERNAL", "EXIT_NOT_OPTIMAL", "EXIT_OK", "EXIT_POT", "main",
    ],
}

SIGNATURES = {
    'emd.unbalanced.UnbalancedResult.witness': "(self) -> 'np.ndarray'",
    'emd.compat.pot_partial.partial_wasserstein': "(a: 'Any', b: 'Any', M: 'Any', m: 'float | None' = None, nb_dummies: 'int' = 1, log: 'bool' = False, **kwargs: 'Any')",
    'emd.compat.pot_partial.partial_wasserstein2': "(a: 'Any', b: 'Any', M: 'Any', m: 'float | None' = None, nb_dummies: 'int' = 1, log: 'bool' = False, **kwargs: 'Any')",
    'emd.compat.pot_partial.partial_wasserstein_lagrange': "(a: 'Any', b: 'Any', M: 'Any', reg_m: 'float | None' = None, nb_dummies: 'int' = 1, log: 'bool' = False, **kwargs: 'Any')",
    'emd.unbalanced.UnbalancedResult': "(cost: 'float', kind: 'str', parameter: 'float', transport_cost: 'float', mass_moved: 'float', mass_created: 'float', mass_destroyed: 'float', created: 'np.ndarray', destroyed: 'np.ndarray', plan: 'Any', status: 'str', reduced: 'Any', _proof: 'Any' = None) -> None",
    'emd.unbalanced.UnbalancedResult.certificate': "(self) -> 'Certificate'",
    'emd.unbalanced.UnbalancedResult.converged': 'attribute',
    'emd.unbalanced.UnbalancedResult.cost': 'attribute',
    'emd.unbalanced.UnbalancedResult.created': 'attribute',
    'emd.unbalanced.UnbalancedResult.dense_plan': "(self) -> 'np.ndarray'",
    'emd.unbalanced.UnbalancedResult.destroyed': 'attribute',
    'emd.unbalanced.UnbalancedResult.kind': 'attribute',
    'emd.unbalanced.UnbalancedResult.mass_created': 'attribute',
    'emd.unbalanced.UnbalancedResult.mass_destroyed': 'attribute',
    'emd.unbalanced.UnbalancedResult.mass_moved': 'attribute',
    'emd.unbalanced.UnbalancedResult.parameter': 'attribute',
    'emd.unbalanced.UnbalancedResult.plan': 'attribute',
    'emd.unbalanced.UnbalancedResult.reduced': 'attribute',
    'emd.unbalanced.UnbalancedResult.status': 'attribute',
    'emd.unbalanced.UnbalancedResult.transport_cost': 'attribute',
    'emd.Certificate': "(cost: 'float', dual_value: 'float', max_dual_violation: 'float', worst_pair: 'tuple[int, int]', marginal_error: 'float', unrouted: 'float', mass: 'float', bound: 'float') -> None",
    'emd.Certificate.bound': 'attribute',
    'emd.Certificate.cost': 'attribute',
    'emd.Certificate.dual_value': 'attribute',
    'emd.Certificate.gap': 'attribute',
    'emd.Certificate.marginal_error': 'attribute',
    'emd.Certificate.mass': 'attribute',
    'emd.Certificate.max_dual_violation': 'attribute',
    'emd.Certificate.optimal': "(self, rtol: 'float' = 1e-09) -> 'bool'",
    'emd.Certificate.relative_gap': 'attribute',
    'emd.Certificate.suboptimality_bound': 'attribute',
    'emd.Certificate.unrouted': 'attribute',
    'emd.Certificate.worst_pair': 'attribute',
    'emd.FlowResult': "(cost: 'float', flow: 'np.ndarray', potentials: 'np.ndarray', n_iter: 'int', status: 'str', _problem: 'tuple | None' = None) -> None",
    'emd.FlowResult.certificate': "(self) -> 'Certificate'",
    'emd.FlowResult.converged': 'attribute',
    'emd.FlowResult.cost': 'attribute',
    'emd.FlowResult.flow': 'attribute',
    'emd.FlowResult.n_iter': 'attribute',
    'emd.FlowResult.potentials': 'attribute',
    'emd.FlowResult.status': 'attribute',
    'emd.GraphResult': "(cost: 'float', potential: 'np.ndarray', edges: 'np.ndarray', edge_flows: 'np.ndarray', method: 'str', n_iter: 'int', status: 'str', _proof: 'Any' = None) -> None",
    'emd.GraphResult.certificate': "(self) -> 'Certificate'",
    'emd.GraphResult.cost': 'attribute',
    'emd.GraphResult.edge_flows': 'attribute',
    'emd.GraphResult.edges': 'attribute',
    'emd.GraphResult.method': 'attribute',
    'emd.GraphResult.n_iter': 'attribute',
    'emd.GraphResult.potential': 'attribute',
    'emd.GraphResult.status': 'attribute',
    'emd.GridResult': "(cost: 'float', potential: 'np.ndarray', rel_error_bound: 'float', metric: 'str', L: 'int | None', n_arcs: 'int', n_iter: 'int', status: 'str', flows: 'tuple[np.ndarray, np.ndarray, np.ndarray] | None' = None, _proof: 'Any' = None) -> None",
    'emd.GridResult.L': 'attribute',
    'emd.GridResult.certificate': "(self) -> 'Certificate'",
    'emd.GridResult.converged': 'attribute',
    'emd.GridResult.cost': 'attribute',
    'emd.GridResult.flows': 'attribute',
    'emd.GridResult.lower_bound': 'attribute',
    'emd.GridResult.metric': 'attribute',
    'emd.GridResult.n_arcs': 'attribute',
    'emd.GridResult.n_iter': 'attribute',
    'emd.GridResult.potential': 'attribute',
    'emd.GridResult.rel_error_bound': 'attribute',
    'emd.GridResult.status': 'attribute',
    'emd.NeighborsResult': "(indices: 'np.ndarray', distances: 'np.ndarray', n_solves: 'int', n_pairs: 'int', n_bound_solves: 'int', uncertified: 'tuple[tuple[int, int, float, str], ...]') -> None",
    'emd.NeighborsResult.distances': 'attribute',
    'emd.NeighborsResult.indices': 'attribute',
    'emd.NeighborsResult.n_bound_solves': 'attribute',
    'emd.NeighborsResult.n_pairs': 'attribute',
    'emd.NeighborsResult.n_solves': 'attribute',
    'emd.NeighborsResult.uncertified': 'attribute',
    'emd.OneDimResult': "(cost: 'float', plan: 'sparse.coo_array', u: 'np.ndarray', v: 'np.ndarray', _knots: 'np.ndarray', _knot_values: 'np.ndarray', _proof: 'tuple | None' = None) -> None",
    'emd.OneDimResult.certificate': "(self) -> 'Certificate'",
    'emd.OneDimResult.cost': 'attribute',
    'emd.OneDimResult.dense_plan': "(self) -> 'np.ndarray'",
    'emd.OneDimResult.plan': 'attribute',
    'emd.OneDimResult.potential': "(self, z: 'ArrayLike') -> 'np.ndarray | float'",
    'emd.OneDimResult.u': 'attribute',
    'emd.OneDimResult.v': 'attribute',
    'emd.SolverWarning': 'subclass of RuntimeWarning',
    'emd.TransportResult': "(cost: 'float', plan: 'scipy.sparse.coo_array', u: 'np.ndarray', v: 'np.ndarray', a: 'np.ndarray', b: 'np.ndarray', n_iter: 'int', status: 'str', metric: 'str | None' = None, _costs: '_CostSource | None' = None, _u_low: 'np.ndarray | None' = None, _v_low: 'np.ndarray | None' = None, _certificate: 'tuple | None' = None) -> None",
    'emd.TransportResult.a': 'attribute',
    'emd.TransportResult.b': 'attribute',
    'emd.TransportResult.certificate': "(self, recompute: 'bool' = False) -> 'Certificate'",
    'emd.TransportResult.converged': 'attribute',
    'emd.TransportResult.cost': 'attribute',
    'emd.TransportResult.dense_plan': "(self) -> 'np.ndarray'",
    'emd.TransportResult.metric': 'attribute',
    'emd.TransportResult.n_iter': 'attribute',
    'emd.TransportResult.plan': 'attribute',
    'emd.TransportResult.shape': 'attribute',
    'emd.TransportResult.status': 'attribute',
    'emd.TransportResult.u': 'attribute',
    'emd.TransportResult.v': 'attribute',
    'emd.TreeResult': "(cost: 'float', edge_flows: 'np.ndarray', potential: 'np.ndarray', _proof: 'Any' = None) -> None",
    'emd.TreeResult.certificate': "(self) -> 'Certificate'",
    'emd.TreeResult.cost': 'attribute',
    'emd.TreeResult.edge_flows': 'attribute',
    'emd.TreeResult.potential': 'attribute',
    'emd.cdist': "(hists_a: 'Sequence[ArrayLike] | np.ndarray', hists_b: 'Sequence[ArrayLike] | np.ndarray', *, metric: 'str | None' = None, positions: 'ArrayLike | None' = None, grid: 'bool' = False, n_jobs: 'int | None' = None, progress: 'bool' = False, normalize: 'bool' = False, client: 'Any' = None, chunk_size: 'int | None' = None, spacing: 'float' = 1.0, L: 'int | None' = None, max_iter: 'int | None' = None, out: 'str | os.PathLike | None' = None, resume: 'bool' = False, block_size: 'int | None' = None, cost: 'ArrayLike | None' = None, return_status: 'bool' = False, warm_start: 'bool' = False, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'Any'",
    'emd.cli.main': "(argv: 'Sequence[str] | None' = None) -> 'int'",
    'emd.compat.pot.POTCompatError': 'subclass of ValueError, AssertionError',
    'emd.compat.pot.emd': "(a: 'ArrayLike', b: 'ArrayLike', M: 'ArrayLike', numItermax: 'int' = 100000, log: 'bool' = False, center_dual: 'bool' = True, numThreads: 'int' = 1, check_marginals: 'bool' = True, potentials_init: 'tuple[ArrayLike, ArrayLike] | None' = None) -> 'np.ndarray | scipy.sparse.coo_array | tuple[Any, dict[str, Any]]'",
    'emd.compat.pot.emd2': "(a: 'ArrayLike', b: 'ArrayLike', M: 'ArrayLike', processes: 'int' = 1, numItermax: 'int' = 100000, log: 'bool' = False, return_matrix: 'bool' = False, center_dual: 'bool' = True, numThreads: 'int' = 1, check_marginals: 'bool' = True, potentials_init: 'tuple[ArrayLike, ArrayLike] | None' = None)",
    'emd.compat.pot.emd2_lazy': "(X_a: 'ArrayLike', X_b: 'ArrayLike', a: 'ArrayLike | None' = None, b: 'ArrayLike | None' = None, metric: 'str' = 'sqeuclidean', numItermax: 'int' = 100000, log: 'bool' = False, return_matrix: 'bool' = True, center_dual: 'bool' = True, check_marginals: 'bool' = True, potentials_init: 'tuple[ArrayLike, ArrayLike] | None' = None)",
    'emd.divergences.cross_entropy': "(p: 'ArrayLike', q: 'ArrayLike') -> 'float'",
    'emd.divergences.entropy': "(p: 'ArrayLike') -> 'float'",
    'emd.divergences.js': "(p: 'ArrayLike', q: 'ArrayLike') -> 'float'",
    'emd.divergences.kl': "(p: 'ArrayLike', q: 'ArrayLike') -> 'float'",
    'emd.divergences.tv': "(p: 'ArrayLike', q: 'ArrayLike') -> 'float'",
    'emd.dual.BoundedWitness': "(lam: 'float', source: 'np.ndarray', target: 'np.ndarray', value: 'float') -> None",
    'emd.dual.BoundedWitness.lam': 'attribute',
    'emd.dual.BoundedWitness.source': 'attribute',
    'emd.dual.BoundedWitness.target': 'attribute',
    'emd.dual.BoundedWitness.value': 'attribute',
    'emd.dual.CriticAudit': "(lipschitz_ratio: 'float', estimate: 'float', se: 'float', plugin: 'float', flagged: 'bool', reasons: 'tuple[str, ...]', n_pairs: 'int') -> None",
    'emd.dual.CriticAudit.estimate': 'attribute',
    'emd.dual.CriticAudit.flagged': 'attribute',
    'emd.dual.CriticAudit.lipschitz_ratio': 'attribute',
    'emd.dual.CriticAudit.n_pairs': 'attribute',
    'emd.dual.CriticAudit.plugin': 'attribute',
    'emd.dual.CriticAudit.reasons': 'attribute',
    'emd.dual.CriticAudit.se': 'attribute',
    'emd.dual.DualCertificate': "(transport: 'Certificate', kr_value: 'float', lipschitz_ratio: 'float', n_pairs: 'int', kind: 'str', status: 'str') -> None",
    'emd.dual.DualCertificate.bound': 'attribute',
    'emd.dual.DualCertificate.cost': 'attribute',
    'emd.dual.DualCertificate.dual_value': 'attribute',
    'emd.dual.DualCertificate.gap': 'attribute',
    'emd.dual.DualCertificate.kind': 'attribute',
    'emd.dual.DualCertificate.kr_value': 'attribute',
    'emd.dual.DualCertificate.lipschitz_ratio': 'attribute',
    'emd.dual.DualCertificate.marginal_error': 'attribute',
    'emd.dual.DualCertificate.mass': 'attribute',
    'emd.dual.DualCertificate.max_dual_violation': 'attribute',
    'emd.dual.DualCertificate.n_pairs': 'attribute',
    'emd.dual.DualCertificate.ok': 'attribute',
    'emd.dual.DualCertificate.optimal': "(self, rtol: 'float' = 1e-09) -> 'bool'",
    'emd.dual.DualCertificate.relative_gap': 'attribute',
    'emd.dual.DualCertificate.relative_kr_error': 'attribute',
    'emd.dual.DualCertificate.status': 'attribute',
    'emd.dual.DualCertificate.transport': 'attribute',
    'emd.dual.DualCertificate.unrouted': 'attribute',
    'emd.dual.HeldoutEstimate': "(estimate: 'float', se: 'float', lower: 'float', alpha: 'float', bound: 'str', witness: 'Callable[[np.ndarray], np.ndarray]', train_value: 'float | None', n_train: 'tuple[int, int]', n_test: 'tuple[int, int]', range_bound: 'float | None' = None) -> None",
    'emd.dual.HeldoutEstimate.alpha': 'attribute',
    'emd.dual.HeldoutEstimate.bound': 'attribute',
    'emd.dual.HeldoutEstimate.estimate': 'attribute',
    'emd.dual.HeldoutEstimate.lower': 'attribute',
    'emd.dual.HeldoutEstimate.n_test': 'attribute',
    'emd.dual.HeldoutEstimate.n_train': 'attribute',
    'emd.dual.HeldoutEstimate.range_bound': 'attribute',
    'emd.dual.HeldoutEstimate.se': 'attribute',
    'emd.dual.HeldoutEstimate.train_value': 'attribute',
    'emd.dual.HeldoutEstimate.witness': 'attribute',
    'emd.dual.PartialDual': "(mass: 'float', source: 'np.ndarray', target: 'np.ndarray', shift: 'float', value: 'float') -> None",
    'emd.dual.PartialDual.mass': 'attribute',
    'emd.dual.PartialDual.shift': 'attribute',
    'emd.dual.PartialDual.source': 'attribute',
    'emd.dual.PartialDual.target': 'attribute',
    'emd.dual.PartialDual.value': 'attribute',
    'emd.dual.PermutationTest': "(estimate: 'float', p_value: 'float', null: 'np.ndarray', statistic: 'str') -> None",
    'emd.dual.PermutationTest.estimate': 'attribute',
    'emd.dual.PermutationTest.null': 'attribute',
    'emd.dual.PermutationTest.p_value': 'attribute',
    'emd.dual.PermutationTest.statistic': 'attribute',
    'emd.dual.PluginEstimate': "(estimate: 'float', n: 'tuple[int, int]', metric: 'str', biased_upward: 'bool' = True, interval: 'tuple[float, float] | None' = None, alpha: 'float' = 0.05, subsample: 'tuple[int, int] | None' = None, replicates: 'np.ndarray | None' = None) -> None",
    'emd.dual.PluginEstimate.alpha': 'attribute',
    'emd.dual.PluginEstimate.biased_upward': 'attribute',
    'emd.dual.PluginEstimate.estimate': 'attribute',
    'emd.dual.PluginEstimate.interval': 'attribute',
    'emd.dual.PluginEstimate.metric': 'attribute',
    'emd.dual.PluginEstimate.n': 'attribute',
    'emd.dual.PluginEstimate.replicates': 'attribute',
    'emd.dual.PluginEstimate.subsample': 'attribute',
    'emd.dual.ProjectionWitness': "(directions: 'np.ndarray', weights: 'np.ndarray', knots: 'tuple[np.ndarray, ...]', knot_values: 'tuple[np.ndarray, ...]', value: 'float', metric: 'str' = 'euclidean', p: 'float' = 2.0) -> None",
    'emd.dual.ProjectionWitness.__call__': "(self, z: 'ArrayLike') -> 'np.ndarray'",
    'emd.dual.ProjectionWitness.directions': 'attribute',
    'emd.dual.ProjectionWitness.knot_values': 'attribute',
    'emd.dual.ProjectionWitness.knots': 'attribute',
    'emd.dual.ProjectionWitness.metric': 'attribute',
    'emd.dual.ProjectionWitness.p': 'attribute',
    'emd.dual.ProjectionWitness.value': 'attribute',
    'emd.dual.ProjectionWitness.weights': 'attribute',
    'emd.dual.SlicedEstimate': "(estimate: 'float', kind: 'str', directions: 'np.ndarray', values: 'np.ndarray', witness: 'ProjectionWitness | None', n_iter: 'int' = 0) -> None",
    'emd.dual.SlicedEstimate.directions': 'attribute',
    'emd.dual.SlicedEstimate.estimate': 'attribute',
    'emd.dual.SlicedEstimate.kind': 'attribute',
    'emd.dual.SlicedEstimate.n_iter': 'attribute',
    'emd.dual.SlicedEstimate.values': 'attribute',
    'emd.dual.SlicedEstimate.witness': 'attribute',
    'emd.dual.TrainedCritic': "(estimate: 'float', se: 'float', train_estimate: 'float', method: 'str', center: 'np.ndarray', scale: 'float', params: 'tuple[np.ndarray, ...]', history: 'np.ndarray') -> None",
    'emd.dual.TrainedCritic.__call__': "(self, z: 'ArrayLike') -> 'np.ndarray'",
    'emd.dual.TrainedCritic.center': 'attribute',
    'emd.dual.TrainedCritic.estimate': 'attribute',
    'emd.dual.TrainedCritic.history': 'attribute',
    'emd.dual.TrainedCritic.method': 'attribute',
    'emd.dual.TrainedCritic.params': 'attribute',
    'emd.dual.TrainedCritic.scale': 'attribute',
    'emd.dual.TrainedCritic.se': 'attribute',
    'emd.dual.TrainedCritic.train_estimate': 'attribute',
    'emd.dual.W1Bracket': "(lower: 'float', upper: 'float', estimate: 'float', relative_width: 'float', wide: 'bool', heldout: 'HeldoutEstimate', plugin: 'PluginEstimate') -> None",
    'emd.dual.W1Bracket.estimate': 'attribute',
    'emd.dual.W1Bracket.heldout': 'attribute',
    'emd.dual.W1Bracket.lower': 'attribute',
    'emd.dual.W1Bracket.plugin': 'attribute',
    'emd.dual.W1Bracket.relative_width': 'attribute',
    'emd.dual.W1Bracket.upper': 'attribute',
    'emd.dual.W1Bracket.wide': 'attribute',
    'emd.dual.WideBracketWarning': 'subclass of UserWarning',
    'emd.dual.Witness': "(kind: 'str', metric: 'str', p: 'float', support: 'np.ndarray', potentials: 'np.ndarray', value: 'float', _n_lower: 'int' = 0, bound: 'float' = inf) -> None",
    'emd.dual.Witness.__call__': "(self, z: 'ArrayLike') -> 'np.ndarray'",
    'emd.dual.Witness.bound': 'attribute',
    'emd.dual.Witness.dim': 'attribute',
    'emd.dual.Witness.kind': 'attribute',
    'emd.dual.Witness.metric': 'attribute',
    'emd.dual.Witness.p': 'attribute',
    'emd.dual.Witness.potentials': 'attribute',
    'emd.dual.Witness.support': 'attribute',
    'emd.dual.Witness.value': 'attribute',
    'emd.dual.audit_critic': "(f: 'Callable[[np.ndarray], np.ndarray]', X: 'ArrayLike', Y: 'ArrayLike', *, n_pairs: 'int' = 3000, metric: 'str' = 'euclidean', p: 'float | None' = None, tol: 'float' = 1e-06, n_se: 'float' = 1.0, plugin: 'float | None' = None, seed: 'Seed' = None) -> 'CriticAudit'",
    'emd.dual.certify': "(x: 'ArrayLike | TransportResult', y: 'ArrayLike | None' = None, a: 'ArrayLike | None' = None, b: 'ArrayLike | None' = None, *, metric: 'str | None' = None, p: 'float | None' = None, result: 'TransportResult | None' = None, kind: 'str' = 'upper', n_probes: 'int' = 1000, seed: 'Seed' = None, normalize: 'bool' = False) -> 'DualCertificate'",
    'emd.dual.kr_witness': "(x: 'ArrayLike | TransportResult', y: 'ArrayLike | None' = None, a: 'ArrayLike | None' = None, b: 'ArrayLike | None' = None, *, metric: 'str | None' = None, p: 'float | None' = None, kind: 'str' = 'upper', normalize: 'bool' = False, unbalanced: 'float | None' = None) -> 'Witness'",
    'emd.dual.max_sliced_w1': "(X: 'ArrayLike', Y: 'ArrayLike', n_projections: 'int' = 200, *, n_starts: 'int' = 3, n_iter: 'int' = 50, directions: 'ArrayLike | None' = None, seed: 'Seed' = None) -> 'SlicedEstimate'",
    'emd.dual.partial_dual': "(result: 'UnbalancedResult', a: 'ArrayLike | None' = None, "
                             "b: 'ArrayLike | None' = None) -> 'PartialDual'",
    'emd.dual.permutation_test': "(X: 'ArrayLike', Y: 'ArrayLike', n_perm: 'int' = 200, *, statistic: 'str | Callable[[np.ndarray, np.ndarray], float]' = 'w1', metric: 'str' = 'euclidean', p: 'float | None' = None, n_projections: 'int' = 50, seed: 'Seed' = None) -> 'PermutationTest'",
    'emd.dual.sliced_w1': "(X: 'ArrayLike', Y: 'ArrayLike', n_projections: 'int' = 200, *, seed: 'Seed' = None, witness: 'bool' = True) -> 'SlicedEstimate'",
    'emd.dual.train_critic': "(X: 'ArrayLike', Y: 'ArrayLike', method: 'str' = 'gp', *, hidden: 'int | tuple[int, ...]' = (32, 32), steps: 'int' = 2000, lr: 'float' = 0.002, batch_size: 'int' = 128, clip: 'float' = 0.01, gp_weight: 'float' = 10.0, one_sided: 'bool' = False, split: 'float' = 0.5, seed: 'Seed' = None) -> 'TrainedCritic'",
    'emd.dual.unbalanced_witness': "(result: 'UnbalancedResult', a: 'ArrayLike | None' = None, b: 'ArrayLike | None' = None) -> 'BoundedWitness'",
    'emd.dual.w1_bracket': "(X: 'ArrayLike', Y: 'ArrayLike', *, metric: 'str' = 'euclidean', p: 'float | None' = None, witness: 'str | Callable[[np.ndarray], np.ndarray]' = 'ctransform', split: 'float' = 0.5, alpha: 'float' = 0.05, bound: 'str' = 'clt', max_relative_width: 'float' = 0.25, seed: 'Seed' = None) -> 'W1Bracket'",
    'emd.dual.w1_heldout_lower': "(X: 'ArrayLike', Y: 'ArrayLike', *, witness: 'str | Callable[[np.ndarray], np.ndarray]' = 'ctransform', metric: 'str' = 'euclidean', p: 'float | None' = None, split: 'float' = 0.5, alpha: 'float' = 0.05, bound: 'str' = 'clt', seed: 'Seed' = None) -> 'HeldoutEstimate'",
    'emd.dual.w1_plugin': "(X: 'ArrayLike', Y: 'ArrayLike', *, metric: 'str' = 'euclidean', p: 'float | None' = None, bootstrap: 'int' = 0, subsample: 'int | tuple[int, int] | None' = None, alpha: 'float' = 0.05, seed: 'Seed' = None) -> 'PluginEstimate'",
    'emd.dual.witness_from_result': "(result: 'TransportResult', kind: 'str' = 'upper') -> 'Witness'",
    'emd.io.Histogram': "(weights: 'np.ndarray', positions: 'np.ndarray | None' = None, source: 'str' = '<array>', kind: 'str | None' = None) -> None",
    'emd.io.Histogram.as_points': "(self, *, nonzero: 'bool' = False) -> 'tuple[np.ndarray, np.ndarray]'",
    'emd.io.Histogram.dim': 'attribute',
    'emd.io.Histogram.kind': 'attribute',
    'emd.io.Histogram.mass': 'attribute',
    'emd.io.Histogram.ndim_grid': 'attribute',
    'emd.io.Histogram.positions': 'attribute',
    'emd.io.Histogram.source': 'attribute',
    'emd.io.Histogram.weights': 'attribute',
    'emd.io.HistogramFileError': "(message: 'str', *, source: 'str | None' = None) -> 'None'",
    'emd.io.atomic_batch': "() -> 'Iterator[None]'",
    'emd.io.atomic_open': "(path: 'PathLike', mode: 'str' = 'wb') -> 'Iterator[IO[Any]]'",
    'emd.io.atomic_write': "(path: 'PathLike', writer: 'Callable[[IO[Any]], object]', *, binary: 'bool' = True) -> 'None'",
    'emd.io.labels_path': "(path: 'PathLike') -> 'str'",
    'emd.io.read_cost_matrix': "(path: 'PathLike') -> 'np.ndarray'",
    'emd.io.read_histogram': "(path: 'PathLike', *, kind: 'str | None' = None) -> 'Histogram'",
    'emd.io.write_labels': "(path: 'PathLike', labels: 'Sequence[str]') -> 'None'",
    'emd.io.write_matrix': "(path: 'PathLike', array: 'Any', labels: 'Sequence[str] | None' = None) -> 'None'",
    'emd.io.write_plan': "(path: 'PathLike', rows: 'Any', cols: 'Any', masses: 'Any', *, columns: 'tuple[str, str, str] | None' = None) -> 'None'",
    'emd.io.write_vector': "(path: 'PathLike', values: 'Any', header: 'str | None' = None) -> 'None'",
    'emd.knn': "(queries: 'Sequence[ArrayLike] | np.ndarray', database: 'Sequence[ArrayLike] | np.ndarray | None' = None, k: 'int' = 1, *, metric: 'str | None' = None, positions: 'ArrayLike | None' = None, grid: 'bool' = False, normalize: 'bool' = False, n_jobs: 'int | None' = None, client: 'Any' = None, spacing: 'float' = 1.0, L: 'int | None' = None, max_iter: 'int | None' = None) -> 'NeighborsResult'",
    'emd.min_cost_flow': "(tails: 'ArrayLike', heads: 'ArrayLike', costs: 'ArrayLike', supply: 'ArrayLike', *, max_iter: 'int | None' = None) -> 'FlowResult'",
    'emd.pairwise': "(hists: 'Sequence[ArrayLike] | np.ndarray', *, metric: 'str | None' = None, positions: 'ArrayLike | None' = None, grid: 'bool' = False, n_jobs: 'int | None' = None, progress: 'bool' = False, normalize: 'bool' = False, client: 'Any' = None, chunk_size: 'int | None' = None, spacing: 'float' = 1.0, L: 'int | None' = None, max_iter: 'int | None' = None, out: 'str | os.PathLike | None' = None, resume: 'bool' = False, block_size: 'int | None' = None, cost: 'ArrayLike | None' = None, return_status: 'bool' = False, warm_start: 'bool' = False, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'Any'",
    'emd.solve': "(a: 'ArrayLike', b: 'ArrayLike', cost: 'ArrayLike', *, normalize: 'bool' = False, max_iter: 'int | None' = None, n_jobs: 'int | None' = 1, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'TransportResult | UnbalancedResult'",
    'emd.solve_1d': "(u_values: 'ArrayLike', v_values: 'ArrayLike', u_weights: 'ArrayLike | None' = None, v_weights: 'ArrayLike | None' = None) -> 'OneDimResult'",
    'emd.solve_graph': "(graph: 'Any', a: 'ArrayLike', b: 'ArrayLike', *, normalize: 'bool' = False, max_iter: 'int | None' = None, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'GraphResult | UnbalancedResult'",
    'emd.solve_grid': "(A: 'ArrayLike', B: 'ArrayLike', *, metric: 'str' = 'cityblock', spacing: 'float' = 1.0, L: 'int | None' = None, max_rel_error: 'float | None' = None, exact: 'bool' = False, normalize: 'bool' = False, volume: 'bool' = False, return_flows: 'bool' = False, max_iter: 'int | None' = None, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'GridResult | UnbalancedResult'",
    'emd.solve_points': "(x: 'ArrayLike', y: 'ArrayLike', a: 'ArrayLike | None' = None, b: 'ArrayLike | None' = None, *, metric: 'str' = 'euclidean', p: 'float | None' = None, normalize: 'bool' = False, max_iter: 'int | None' = None, n_jobs: 'int | None' = 1, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'TransportResult | UnbalancedResult'",
    'emd.solve_tree': "(parents: 'ArrayLike', edge_lengths: 'ArrayLike', a: 'ArrayLike', b: 'ArrayLike', normalize: 'bool' = False, *, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'TreeResult | UnbalancedResult'",
    'emd.wasserstein': "(x: 'ArrayLike', y: 'ArrayLike', a: 'ArrayLike | None' = None, b: 'ArrayLike | None' = None, *, metric: 'str' = 'euclidean', p: 'float | None' = None, normalize: 'bool' = True, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'float'",
    'emd.wasserstein_1d': "(u_values: 'ArrayLike', v_values: 'ArrayLike', u_weights: 'ArrayLike | None' = None, v_weights: 'ArrayLike | None' = None) -> 'float'",
    'emd.wasserstein_batch': "(xs: 'Sequence[ArrayLike] | np.ndarray', ys: 'Sequence[ArrayLike] | np.ndarray', a: 'Sequence[ArrayLike] | np.ndarray | None' = None, b: 'Sequence[ArrayLike] | np.ndarray | None' = None, *, metric: 'str' = 'euclidean', p: 'float | None' = None, normalize: 'bool' = True, n_jobs: 'int | None' = None) -> 'Any'",
    'emd.wasserstein_graph': "(graph: 'Any', a: 'ArrayLike', b: 'ArrayLike', *, normalize: 'bool' = False, max_iter: 'int | None' = None, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'float'",
    'emd.wasserstein_grid': "(A: 'ArrayLike', B: 'ArrayLike', *, metric: 'str' = 'cityblock', spacing: 'float' = 1.0, L: 'int | None' = None, max_rel_error: 'float | None' = None, exact: 'bool' = False, normalize: 'bool' = False, volume: 'bool' = False, max_iter: 'int | None' = None, return_flows: 'bool' = False, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'float'",
    'emd.wasserstein_tree': "(parents: 'ArrayLike', edge_lengths: 'ArrayLike', a: 'ArrayLike', b: 'ArrayLike', normalize: 'bool' = False, *, partial: 'float | None' = None, unbalanced: 'float | None' = None) -> 'float'",
}


def _signature(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except ValueError:  # exception classes built on C types have none
        return "subclass of " + ", ".join(base.__name__ for base in obj.__bases__)


def _class_rows(key: str, cls: type) -> dict[str, str]:
    rows = {}
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            if not f.name.startswith("_"):
                rows[f"{key}.{f.name}"] = "attribute"
    for name, member in vars(cls).items():
        if name.startswith("_") and name != "__call__":
            continue
        if isinstance(member, property):
            rows[f"{key}.{name}"] = "attribute"
        elif isinstance(member, staticmethod | classmethod) or inspect.isfunction(member):
            rows[f"{key}.{name}"] = _signature(getattr(cls, name))
    return rows


def _actual_table() -> dict[str, str]:
    table = {}
    for module_name in PUBLIC_NAMES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, types.ModuleType) or not callable(obj):
                continue
            key = f"{module_name}.{name}"
            table[key] = _signature(obj)
            if inspect.isclass(obj):
                table.update(_class_rows(key, obj))
    return dict(sorted(table.items()))


@pytest.mark.parametrize("module_name", sorted(PUBLIC_NAMES))
def test_public_names(module_name):
    module = importlib.import_module(module_name)
    assert list(module.__all__) == PUBLIC_NAMES[module_name]
    for name in module.__all__:
        assert getattr(module, name) is not None
        assert name in dir(module)


def test_no_public_callable_added_or_removed():
    actual = set(_actual_table())
    assert sorted(actual - set(SIGNATURES)) == []
    assert sorted(set(SIGNATURES) - actual) == []


@pytest.mark.parametrize("key", sorted(SIGNATURES))
def test_signature(key):
    assert _actual_table().get(key) == SIGNATURES[key]
