#!/bin/bash
# Moves each constant of the wait estimate that no public source gives, both ways, one at a
# time, on the wait bench's blockers (the status-aware Refresher only), and prints natural-end
# p50/p95/p99 and calls per hour for each. Edits the sources and restores them with git: run it
# on a clean checkout (a worktree of its own, so nothing else builds there meanwhile).
#
#   scripts/wait-constants.sh > constants.txt     # about 2 min per line on 2 cores
set -euo pipefail
cd "$(dirname "$0")/.."
if ! git diff --quiet -- src/refresher; then
    echo "src/refresher has changes: run this on a clean checkout" >&2
    exit 2
fi
E=src/refresher/estimate.rs
C=src/refresher/cadence.rs
trap 'git checkout -q -- "$E" "$C"' EXIT
run() {
    local out
    out=$(WAIT_ONLY=StatusAware cargo bench --features sim --bench wait 2>/dev/null)
    local natural calls
    natural=$(grep -E '^\| natural \|' <<<"$out" | awk -F'|' '{print $4}')
    calls=$(grep -E '^\| all \|' <<<"$out" | awk -F'|' '{print $6}')
    echo "$1 | natural $natural | calls/h $calls"
}
sweep() { # file constant lower higher
    for v in "$3" "$4"; do
        git checkout -q -- "$1"
        sed -i -E "s/^((pub\(crate\) )?const $2: f64 = )[0-9.]+;/\1$v;/" "$1"
        grep -q "const $2: f64 = $v;" "$1" || { echo "$2: not found in $1" >&2; exit 1; }
        run "$2 = $v"
    done
    git checkout -q -- "$1"
}
run "as chosen"
sweep "$E" SPREAD 0.25 0.75
sweep "$C" DENSE_MAX 4.0 12.0
sweep "$C" MAX_WINDOW_CHECKS 15.0 60.0
sweep "$E" FEW_LEFT 8.0 32.0
sweep "$E" COARSE_CHECKS 1.0 4.0
sweep "$E" WIDE 60.0 240.0
sweep "$E" READ_AHEAD_MIN 10.0 40.0
sweep "$E" SHORT_LOOK 10.0 40.0
