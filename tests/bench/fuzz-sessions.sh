#!/usr/bin/env bash
# SMTP fuzzing at scale against the full node (tenants, sender-domain check over dnsmasq,
# built-in scanners, SQLite store, delivery to smtp-sink), outside CI:
#   python fuzzer (fuzz-sessions.py, CONCURRENCY sessions at once) -> ActorGateway (STARTTLS) -> smtp-sink
# SESSIONS sessions from a fixed SEED; stops starting new sessions after TIME_LIMIT seconds.
# Checks: the node is alive with the same PID at the end (no crash), every session is
# answered or closed by the server within the bound (no hang), every reply line is valid,
# and the node's memory (RSS, sampled every second) stays bounded: start / peak / end.
# FUZZ_ONLY=314,392 replays single sessions (NODE_LOG_LEVEL=Information shows the node's view).
#   usage: tests/bench/fuzz-sessions.sh [SESSIONS=100000] [SEED=20261201] [CONCURRENCY=400] [TIME_LIMIT=600]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
SESSIONS=${1:-100000}; SEED=${2:-20261201}; CONCURRENCY=${3:-400}; TIME_LIMIT=${4:-600}
for n in "$SESSIONS" "$SEED" "$CONCURRENCY" "$TIME_LIMIT"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "usage: tests/bench/fuzz-sessions.sh [SESSIONS] [SEED] [CONCURRENCY] [TIME_LIMIT]" >&2; exit 2; }
done
# The node's timeouts are short so that a session left in any state ends soon; the fuzzer's
# bound for "closed by the server" covers them plus the store timeout and some slack.
COMMAND_TIMEOUT=5; DATA_TIMEOUT=5; STORE_TIMEOUT=30; CLOSE_BOUND=50
ulimit -n $(( $(ulimit -Hn) < 65536 ? $(ulimit -Hn) : 65536 ))
export PATH=$PATH:/usr/sbin:/usr/lib/postfix/sbin
for p in smtp-sink dnsmasq openssl; do command -v $p >/dev/null || { echo "$p missing: run tests/run-all.sh once (it installs the packages)" >&2; exit 1; }; done

FAIL_LOG_LINES=30
. "$ROOT/tests/bench/lib.sh"

openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=gw.fuzz" -days 2 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
start_sender_dns
SINK=$(free_port)
smtp-sink -u nobody 127.0.0.1:"$SINK" 200 2>/dev/null & PIDS+=($!)
wait_port "$SINK"

SMTP_PORT=$(free_port); OPS_PORT=$(free_port)
cat > "$WORK/node.conf" <<EOF
gateway {
  data-dir = "$WORK/data"
  operations.port = $OPS_PORT
  smtp {
    server-name = "gw.fuzz", max-message-size = 1048576
    command-timeout = ${COMMAND_TIMEOUT}s, data-timeout = ${DATA_TIMEOUT}s, store-timeout = ${STORE_TIMEOUT}s
    max-connections = $((CONCURRENCY * 3 + 100)), max-connections-per-client = $((CONCURRENCY * 3 + 100))
    endpoints = [ { name = smtp, address = "127.0.0.1", port = $SMTP_PORT, certificate = "$WORK/cert.pem", key = "$WORK/key.pem" } ]
  }
  dns.servers = ["127.0.0.1:$DNS_PORT"]
  delivery.routes { "rcpt.example" = "127.0.0.1:$SINK" }
  tenants.local.domains = ["sender.example"]
}
EOF
Logging__LogLevel__Default=${NODE_LOG_LEVEL:-Warning} setsid dotnet "$NODE_DLL" --config "$WORK/node.conf" > "$WORK/node.log" 2>&1 &
NODE_PID=$!
for _ in $(seq 1 600); do
  curl -sf "http://127.0.0.1:$OPS_PORT/health/ready" >/dev/null 2>&1 && break
  kill -0 "$NODE_PID" 2>/dev/null || fail "the node exited during start"
  sleep 0.1
done
curl -sf "http://127.0.0.1:$OPS_PORT/health/ready" >/dev/null || fail "the node was not ready after 60 s"
wait_port "$SMTP_PORT" || fail "the node's SMTP port is not listening"

( while kill -0 "$NODE_PID" 2>/dev/null && [ ! -f "$WORK/stop-sampling" ]; do
    echo "$(date +%s) $(awk '/^VmRSS:/ {print $2}' /proc/$NODE_PID/status 2>/dev/null || echo 0)"; sleep 1
  done > "$WORK/memory.txt" ) &
PIDS+=($!)

echo "command: tests/bench/fuzz-sessions.sh $SESSIONS $SEED $CONCURRENCY $TIME_LIMIT"
echo "code: $REVISION; node timeouts command ${COMMAND_TIMEOUT}s data ${DATA_TIMEOUT}s store ${STORE_TIMEOUT}s; close bound ${CLOSE_BOUND}s"
T0=$(date +%s)
set +e
python3 "$ROOT/tests/bench/fuzz-sessions.py" "$SMTP_PORT" "$SESSIONS" "$SEED" "$CONCURRENCY" "$CLOSE_BOUND" 20 "$TIME_LIMIT"
FUZZ_RC=$?
set -e
sleep 2; touch "$WORK/stop-sampling"; sleep 1.5
kill -0 "$NODE_PID" 2>/dev/null || fail "the node died (crash)"
echo "node alive after $(( $(date +%s) - T0 )) s, same PID $NODE_PID"
read -r start_rss < <(head -1 "$WORK/memory.txt" | awk '{print int($2/1024)}')
read -r peak_rss < <(awk '$2 > r {r = $2} END {print int(r/1024)}' "$WORK/memory.txt")
read -r end_rss < <(tail -1 "$WORK/memory.txt" | awk '{print int($2/1024)}')
echo "node RSS start / peak / end: $start_rss / $peak_rss / $end_rss MiB"
echo "node log: $(grep -ci 'exception' "$WORK/node.log" || true) lines mentioning an exception, $(grep -c ' crit\| fail:' "$WORK/node.log" || true) critical/error lines"
grep -i ' crit\| fail:\|unhandled' "$WORK/node.log" | sort | uniq -c | sort -rn | head -10 || true
if [ -n "${FUZZ_ONLY:-}" ]; then
  echo "--- the node's log for the replayed sessions:"; grep -v ' warn: ActorGateway.Ingress' "$WORK/node.log" | tail -60
fi
[ "$FUZZ_RC" = 0 ] || fail "the fuzzer reported findings"
