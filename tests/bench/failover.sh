#!/usr/bin/env bash
# Failover timings of the three-site cluster: runs the kill -9 test (three real nodes with
# the shipped cluster.conf and site files, PostgreSQL, smtp-source and MailKit load) RUNS
# times and prints, per run and as min/median/max, the seconds from the kill of eu-de-01
# (the oldest member: queue sweeper and shard coordinators) until the survivors logged it
#   unreachable (failure detector), downed (split brain resolver), removed,
#   queue sweeper running again (singleton moved), first queued message resumed (shards moved).
#   usage: tests/bench/failover.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-5}
out=$(mktemp); trap 'rm -f "$out"' EXIT
dotnet build -v q --nologo ActorGateway.sln >/dev/null
for i in $(seq 1 "$RUNS"); do
  echo "run $i of $RUNS..." >&2
  ACTORGATEWAY_FAILOVER_TIMINGS=$out dotnet test tests/ActorGateway.Gateway.Tests --no-build -v q --nologo \
    --filter "FullyQualifiedName~FailoverTests.Kill_minus_9" >/dev/null || echo "run $i: the test failed (timings kept if measured)" >&2
done
python3 - "$out" <<'PY'
import sys, statistics
rows = [list(map(float, l.split(','))) for l in open(sys.argv[1]) if l.strip()]
names = ["unreachable", "downed", "removed", "singleton moved", "work resumed"]
print("| run | " + " | ".join(names) + " |"); print("|---" * (len(names) + 1) + "|")
for i, r in enumerate(rows, 1): print(f"| {i} | " + " | ".join(f"{v:.1f}" for v in r) + " |")
cols = list(zip(*rows))
for label, f in (("min", min), ("median", statistics.median), ("max", max)):
    print(f"| {label} | " + " | ".join(f"{f(c):.1f}" for c in cols) + " |")
PY
