#!/usr/bin/env bash
# Build the compiled core with AddressSanitizer + UndefinedBehaviorSanitizer and run
# the tests that exercise it.
#
#   tools/sanitize.sh                       # the default core tests
#   tools/sanitize.sh tests/test_fuzz.py -k solve   # any pytest arguments instead
#   KEEP=1 tools/sanitize.sh                # keep the build directory for reruns
#   tools/sanitize.sh --valgrind [script.py]  # valgrind memcheck on the normal build
#
# The sanitized build goes to a copy of the sources in a temporary directory, and
# the tests run from there, so the checkout's normal (in-place) build is never
# touched: nothing needs restoring afterwards, and other work in the checkout keeps
# running on the normal build meanwhile.  Python itself is not sanitized; its
# allocator is switched to malloc so that ASan sees Python objects, and leak
# detection is off (the interpreter keeps its arenas on purpose).  Any report ends
# the run with a non-zero status (halt_on_error).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python}"
DEFAULT_TESTS=(
  tests/test_network_simplex.py tests/test_transport.py tests/test_grid.py
  tests/test_graph.py tests/test_batch.py tests/test_compat_pot.py tests/test_fuzz.py
  tests/test_stress.py
)

if [[ "${1:-}" == "--valgrind" ]]; then
  shift
  command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
  script="${1:-$ROOT/tools/memcheck_smoke.py}"
  # The interpreter itself, not a shim script (valgrind would trace the shell).
  interpreter="$("$PYTHON" -c 'import sys; print(sys.executable)')"
  cd "$ROOT"
  log="$(mktemp "${TMPDIR:-/tmp}/emd-memcheck.XXXXXX")"
  status=0
  PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONMALLOC=malloc \
    valgrind --tool=memcheck --log-file="$log" --leak-check=no --track-origins=yes \
    --num-callers=40 "$interpreter" "$script" || status=$?
  # CPython (unless built --with-valgrind) and the dynamic loader produce reports
  # of their own; only those with a frame in emd's compiled modules count here.
  "$interpreter" - "$log" <<'PY' || status=$?
import re, sys
text = open(sys.argv[1]).read()
blocks = [b for b in re.split(r"\n==\d+== \n", text) if re.search(r"==\d+== [A-Z]", b)]
# A frame in a compiled room: its file (emd/_core/...) or its symbol (__pyx_..._5_core_...).
ours = [b for b in blocks if re.search(r"emd/_core/|_5_core_", b)]
print(f"valgrind: {len(blocks)} report blocks, {len(ours)} in emd's compiled modules")
for block in ours:
    print(block)
sys.exit(1 if ours else 0)
PY
  echo "full log: $log"
  exit "$status"
fi

BUILD="$(mktemp -d "${TMPDIR:-/tmp}/emd-sanitize.XXXXXX")"
if [[ -z "${KEEP:-}" ]]; then
  trap 'rm -rf "$BUILD"' EXIT
fi

ASAN_LIB="$(gcc -print-file-name=libasan.so)"
if [[ ! -e "$ASAN_LIB" ]]; then
  echo "gcc has no libasan.so (install the gcc sanitizer runtime, e.g. libasan8)" >&2
  exit 2
fi

echo "== building the sanitized core in $BUILD"
cp -r "$ROOT/setup.py" "$ROOT/pyproject.toml" "$BUILD/"
mkdir -p "$BUILD/emd"
# Sources only: compiled modules and generated C are rebuilt below.
(cd "$ROOT/emd" && find . -name '*.py' -o -name '*.pyx' -o -name '*.pxd' -o -name '*.h') | while read -r f; do
  mkdir -p "$BUILD/emd/$(dirname "$f")"
  cp "$ROOT/emd/$f" "$BUILD/emd/$f"
done
SAN_FLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -O1 -g"
(
  cd "$BUILD"
  CFLAGS="$SAN_FLAGS" LDFLAGS="-fsanitize=address,undefined" \
    "$PYTHON" setup.py build_ext --inplace --force >build.log 2>&1 \
    || { cat build.log >&2; exit 1; }
)
# grep reads all of nm's output (-q would stop early and fail the pipe under pipefail).
nm -D "$BUILD"/emd/_core/_tree*.so | grep __asan_init >/dev/null \
  || { echo "the build is not instrumented" >&2; exit 1; }

if [[ $# -gt 0 ]]; then
  TESTS=("$@")
else
  TESTS=("${DEFAULT_TESTS[@]}")
fi
# Test paths are relative to the checkout; run from the build directory so that
# "import emd" finds the sanitized package first (the cwd leads sys.path).
ARGS=()
for arg in "${TESTS[@]}"; do
  if [[ -e "$ROOT/$arg" || "$arg" == tests/*::* ]]; then ARGS+=("$ROOT/$arg"); else ARGS+=("$arg"); fi
done

echo "== running ${#ARGS[@]} pytest arguments under ASan + UBSan"
cd "$BUILD"
export LD_PRELOAD="$ASAN_LIB"
# allocator_may_return_null: a test asks NumPy for 728 TiB on purpose and expects
# MemoryError, which ASan would otherwise report as a fatal error.
export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1:abort_on_error=1:allocator_may_return_null=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export PYTHONMALLOC=malloc
"$PYTHON" -c "import emd._core._tree as m, sys; assert m.__file__.startswith('$BUILD'), m.__file__"
"$PYTHON" -m pytest -q -p no:cacheprovider --rootdir "$ROOT" -c "$ROOT/pyproject.toml" "${ARGS[@]}"
echo "== clean: no sanitizer reports"
