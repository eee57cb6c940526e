#!/bin/bash
# Re-judges every recorded candidate of the two self-tests of 2026-12-07 (this folder's replicates and burner runs,
# and the replicates of ../2026-12-07-041505-vm-gate-selftest-full/) with gate.jar compare and extra options, without
# measuring anything (docs/gate.md, "The SWIOTLB cells' threshold"). Needs the folders' rep-NN/ and burn-NN/ extracted
# and merged (README.md: scripts/gate-selftest --evaluate-only) and gate/target/gate.jar.
#
#   [GATE_CONF=FILE] rejudge.sh OUTDIR [compare options]
#       rejudge.sh /tmp/t8                                 today's gate.conf (the 8% rule)
#       git show 36ef3f2:gate/gate.conf > /tmp/5.conf; GATE_CONF=/tmp/5.conf rejudge.sh /tmp/t5   the 5% rule as measured
#       GATE_CONF=/tmp/5.conf rejudge.sh /tmp/med --level median; combine.py /tmp/t5 /tmp/med and
#
# One verdicts file per candidate: OUTDIR/{2fork,full}-{rep-NN-CANDIDATE,burn-NN-burn}.tsv; then summarize.py OUTDIR,
# or combine.py BASE OTHER replace|and to judge only the SWIOTLB-bound cells by OTHER.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd); home=$(cd "$here/../../.." && pwd); results="$home/results"
out=$1; shift; mkdir -p "$out"
for d in 2026-12-07-104500-vm-gate-selftest-2fork 2026-12-07-041505-vm-gate-selftest-full; do
    tag=$(echo "$d" | cut -d- -f8)
    for f in "$results/$d"/rep-*/*.json "$results/$d"/burn-*/jmh.json; do
        [ -f "$f" ] || continue
        rep=$(basename "$(dirname "$f")"); c=$(basename "$f" .json); [ "$c" = jmh ] && c=burn
        java -jar "$home/gate/target/gate.jar" compare "$results/$d/baseline/jmh.json" "$f" \
            --config "${GATE_CONF:-$home/gate/gate.conf}" "$@" --verdicts "$out/$tag-$rep-$c.tsv" > /dev/null || true
    done
done
