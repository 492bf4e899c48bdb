# cython: language_level=3
"""The spanning tree and its pivot (emd._core._tree): what other rooms may use.

A tree is a :c:type:`Tree` of node-indexed arrays (AMO ch. 11 names); the other
rooms build a first tree (:func:`init_star`, :func:`start_forest`), run the whole
simplex on an arc list (:func:`run_simplex`) and read the result
(:func:`subtree_flows`, :func:`tree_cost`).  The pivot loop itself is private to
the module, so that it and its per-arc helpers compile as one unit.
"""

cimport numpy as cnp
from libc.math cimport sqrt

# Status codes of a simplex run, shared with emd._engine.
cdef enum:
    OPTIMAL = 0
    MAX_ITER_REACHED = 1
    UNBOUNDED = 2


cdef struct Tree:
    Py_ssize_t n_nodes          # real nodes; the artificial root has index n_nodes
    Py_ssize_t root
    double artificial_cost      # cost of every arc joining a node to the root
    bint exact                  # exact phase: double-double potentials and pricing
    Py_ssize_t* parent
    Py_ssize_t* thread          # preorder successor (circular, through the root)
    Py_ssize_t* rev_thread      # preorder predecessor
    Py_ssize_t* subtree_size
    Py_ssize_t* subtree_last    # last node of the subtree in preorder
    char* toward_parent         # 1: the tree arc points node -> parent; 0: parent -> node
    double* flow                # flow on the tree arc of the node
    double* arc_cost            # cost of the tree arc of the node
    Py_ssize_t* arc_index       # index of that arc in the caller's arc list; -1 if artificial
    double* pi                  # potentials; reduced cost = cost + pi[tail] - pi[head]
    double* pi_low              # their low parts (exact phase): pi + pi_low is the potential
    double* scratch_low         # scratch for double-double subtree sums
    Py_ssize_t* stem            # scratch: the two sides of a pivot's cycle (2 (n_nodes + 1))
    Py_ssize_t* seg_start       # scratch: preorder segments of a rerooted subtree
    Py_ssize_t* seg_end


cdef void init_star(Tree* T, const double* supply) noexcept nogil
cdef void start_forest(
    Tree* T, const double* supply, double* below, const Py_ssize_t* preorder,
    const Py_ssize_t* tree_parent, const Py_ssize_t* up_arc, const Py_ssize_t* down_arc,
    const double* costs,
) noexcept nogil
cdef void refresh_potentials(Tree* T) noexcept nogil
cdef int run_simplex(
    Tree* T, const Py_ssize_t* tails, const Py_ssize_t* heads, const double* costs,
    Py_ssize_t n_arcs, Py_ssize_t block_size, Py_ssize_t max_iter,
    Py_ssize_t* n_iter, Py_ssize_t* cursor, Py_ssize_t width, double* final_worst,
) noexcept nogil
cdef void subtree_flows(Tree* T, const double* supply, double* out) noexcept nogil
cdef double tree_cost(Tree* T, const double* flow) noexcept nogil
cdef bint avx2_enabled() noexcept nogil
cdef check_arcs(
    const Py_ssize_t[::1] tails, const Py_ssize_t[::1] heads, Py_ssize_t n_costs, Py_ssize_t n,
)


cdef inline Py_ssize_t block_size_for(Py_ssize_t n_arcs) noexcept nogil:
    # sqrt(arcs) balances the cost of a scan against pivot quality
    # (Kiraly & Kovacs 2012); small problems still scan a few arcs.
    cdef Py_ssize_t size = <Py_ssize_t> sqrt(<double> n_arcs)
    return size if size > 10 else 10


cdef class SpanningTree:
    cdef Tree T
    cdef cnp.ndarray _parent, _thread, _rev_thread, _subtree_size, _subtree_last
    cdef cnp.ndarray _toward_parent, _flow, _arc_cost, _arc_index, _pi, _pi_low
    cdef cnp.ndarray _scratch_low, _stem, _seg_start, _seg_end, _supply
    cdef readonly Py_ssize_t n_iter
    cdef Py_ssize_t cursor
