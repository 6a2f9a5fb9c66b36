#!/usr/bin/env bash
# Connection pressure on one node: IDLE idle connections and SLOW clients sending one octet a
# second, from ADDRESSES loopback addresses (127.0.0.2 ...), then EXTRA more that keep the
# server at max-connections (= IDLE + EXTRA/2) by reconnecting whenever the server closes them.
# Reports memory per idle connection (node RSS before/after divided by the count) and how long
# a real client (python smtplib from 127.0.0.1) waits for its 250, first with the connections
# held and then with the server full (stress mode, idle eviction). See idle-connections.py.
#   usage: tests/bench/idle-connections.sh [IDLE=5000] [SLOW=50] [EXTRA=3000] [ADDRESSES=20] [PHASE2_SECONDS=45]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
IDLE=${1:-5000}; SLOW=${2:-50}; EXTRA=${3:-3000}; ADDRESSES=${4:-20}; PHASE2_SECONDS=${5:-45}
for n in "$IDLE" "$SLOW" "$EXTRA" "$ADDRESSES" "$PHASE2_SECONDS"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "usage: tests/bench/idle-connections.sh [IDLE] [SLOW] [EXTRA] [ADDRESSES] [PHASE2_SECONDS]" >&2; exit 2; }
done
# Above the held load (no stress while it is measured: threshold 0.8), below the full load.
MAX_CONNECTIONS=$(( (IDLE + SLOW) * 10 / 8 + 10 ))
[ "$MAX_CONNECTIONS" -lt $((IDLE + SLOW + EXTRA)) ] || { echo "EXTRA must exceed $((MAX_CONNECTIONS - IDLE - SLOW)) to fill the server" >&2; exit 2; }
ulimit -n $(( $(ulimit -Hn) < 65536 ? $(ulimit -Hn) : 65536 ))
[ "$(ulimit -n)" -gt $((2 * (IDLE + SLOW + EXTRA) + 1000)) ] || { echo "ulimit -n $(ulimit -n) is too low for $((IDLE + SLOW + EXTRA)) connections" >&2; exit 1; }
export PATH=$PATH:/usr/sbin:/usr/lib/postfix/sbin
for p in smtp-sink dnsmasq; do command -v $p >/dev/null || { echo "$p missing: run tests/run-all.sh once (it installs the packages)" >&2; exit 1; }; done

. "$ROOT/tests/bench/lib.sh"

start_sender_dns
SINK=$(free_port)
smtp-sink -u nobody 127.0.0.1:"$SINK" 100 2>/dev/null & PIDS+=($!)
wait_port "$SINK"

SMTP_PORT=$(free_port); OPS_PORT=$(free_port)
cat > "$WORK/node.conf" <<EOF
gateway {
  data-dir = "$WORK/data"
  operations.port = $OPS_PORT
  smtp {
    server-name = "gw.bench", max-connections = $MAX_CONNECTIONS, max-connections-per-client = $MAX_CONNECTIONS
    endpoints = [ { name = smtp, address = "127.0.0.1", port = $SMTP_PORT } ]
  }
  dns.servers = ["127.0.0.1:$DNS_PORT"]
  delivery.routes { "rcpt.example" = "127.0.0.1:$SINK" }
  tenants.local.domains = ["sender.example"]
}
EOF
# Warnings only: a line per connection would measure the logger.
Logging__LogLevel__Default=Warning setsid dotnet "$NODE_DLL" --config "$WORK/node.conf" > "$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$OPS_PORT/health/ready" >/dev/null 2>&1 && break
  kill -0 "$NODE_PID" 2>/dev/null || fail "the node exited during start"
  sleep 0.1
done
curl -sf "http://127.0.0.1:$OPS_PORT/health/ready" >/dev/null || fail "the node was not ready after 60 s"
wait_port "$SMTP_PORT" || fail "the node's SMTP port is not listening"

echo "command: tests/bench/idle-connections.sh $IDLE $SLOW $EXTRA $ADDRESSES $PHASE2_SECONDS"
echo "code: $REVISION; max-connections $MAX_CONNECTIONS (stress from 80 %), $IDLE idle + $SLOW slow from $ADDRESSES addresses, then $EXTRA more reconnecting"
T0=$(date +%s)
python3 "$ROOT/tests/bench/idle-connections.py" "$SMTP_PORT" "$OPS_PORT" "$NODE_PID" "$IDLE" "$SLOW" "$EXTRA" "$ADDRESSES" "$PHASE2_SECONDS" \
  || fail "the driver failed"
kill -0 "$NODE_PID" 2>/dev/null || fail "the node died"
echo "duration $(( $(date +%s) - T0 )) s; node alive"
