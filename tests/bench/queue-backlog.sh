#!/usr/bin/env bash
# A large queue on one node (SQLite, built-in scanners): the receiver is down (nothing listens
# on its port), MESSAGES messages are sent in chunks of CHUNK through smtp-source. After each
# chunk: its accept rate, the node's RSS and the queue's size as the node reports it
# (actorgateway_queue_messages). Then the node is killed (SIGKILL) and started again: how long
# until it is ready, and until its queue gauge shows the whole queue again; and the accept rate
# of one more chunk after the restart.
#   usage: [CHUNK=50000] tests/bench/queue-backlog.sh [MESSAGES] [SESSIONS] [EXTRA_GATEWAY_CONF]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MESSAGES=${1:-1000000}; SESSIONS=${2:-20}; EXTRA=${3:-}; CHUNK=${CHUNK:-50000}; SIZE=2000
export PATH=$PATH:/usr/sbin
for p in smtp-source dnsmasq curl; do command -v $p >/dev/null || { echo "$p missing: run tests/run-all.sh once (it installs the packages)" >&2; exit 1; }; done
. "$ROOT/tests/bench/lib.sh"
start_sender_dns

SMTP_PORT=$(free_port); OPS_PORT=$(free_port); DEAD=$(free_port)
cat > "$WORK/node.conf" <<EOF
gateway {
  data-dir = "$WORK/data"
  operations.port = $OPS_PORT
  smtp { server-name = "gw.bench", max-connections-per-client = 1000, endpoints = [ { name = smtp, address = "127.0.0.1", port = $SMTP_PORT } ] }
  dns.servers = ["127.0.0.1:$DNS_PORT"]
  delivery.routes { "rcpt.example" = "127.0.0.1:$DEAD" }
  tenants.local.domains = ["sender.example"]
}
EOF
[ -n "$EXTRA" ] && cat "$EXTRA" >> "$WORK/node.conf"

rss_mib() { awk '/^VmRSS/ {printf "%d", $2 / 1024}' "/proc/$NODE_PID/status"; }
hwm_mib() { awk '/^VmHWM/ {printf "%d", $2 / 1024}' "/proc/$NODE_PID/status"; }
queued() { curl -sf "http://127.0.0.1:$OPS_PORT/metrics" 2>/dev/null | awk '/^actorgateway_queue_messages / {printf "%d", $2}'; }
db_mib() { du -sm "$WORK/data" | cut -f1; }
# send N: smtp-source, then the accept rate in msg/s
send() {
  local t0 t1
  t0=$(date +%s.%N)
  smtp-source -s "$SESSIONS" -m "$1" -l "$SIZE" -f bench@sender.example -t rcpt@rcpt.example 127.0.0.1:"$SMTP_PORT" >/dev/null
  t1=$(date +%s.%N)
  awk -v n="$1" -v a="$t0" -v b="$t1" 'BEGIN {printf "%.0f", n / (b - a)}'
}
wait_queued() { # N TIMEOUT_S -> seconds waited, or fails
  local t0=$SECONDS q=0
  while [ $((SECONDS - t0)) -lt "$2" ]; do q=$(queued); q=${q:-0}; [ "$q" -ge "$1" ] && { echo $((SECONDS - t0)); return 0; }; sleep 1; done
  fail "the queue gauge shows $q, not $1, after $2 s"
}

echo "revision $REVISION; $MESSAGES messages of $SIZE octets in chunks of $CHUNK, $SESSIONS sessions; receiver down"
start_node "$WORK/node.conf" "$SMTP_PORT"
sent=0; first_rate=""
printf '%10s %10s %8s %8s %10s %8s\n' sent "msg/s" "RSS MiB" "peak" queued "data MiB"
while [ "$sent" -lt "$MESSAGES" ]; do
  n=$(( MESSAGES - sent < CHUNK ? MESSAGES - sent : CHUNK ))
  rate=$(send "$n"); sent=$((sent + n)); first_rate=${first_rate:-$rate}; last_rate=$rate
  printf '%10d %10d %8d %8d %10s %8d\n' "$sent" "$rate" "$(rss_mib)" "$(hwm_mib)" "$(queued)" "$(db_mib)"
done
waited=$(wait_queued "$MESSAGES" 600)
echo "queue gauge at $MESSAGES ${waited} s after the last chunk; RSS $(rss_mib) MiB, peak $(hwm_mib) MiB"
sleep 30
echo "30 s later: RSS $(rss_mib) MiB, peak $(hwm_mib) MiB, queued $(queued), node CPU $(awk -v t="$(getconf CLK_TCK)" '{printf "%.0f", ($14 + $15) / t}' "/proc/$NODE_PID/stat") s in all"

echo "SIGKILL and start again..."
kill -9 "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true
mv "$WORK/node.log" "$WORK/node-1.log"
t0=$(date +%s.%N)
start_node "$WORK/node.conf" "$SMTP_PORT"
ready=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
waited=$(wait_queued "$MESSAGES" 300)
loaded=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
echo "restart: ready after $ready s, the whole queue in the gauge after $loaded s; RSS $(rss_mib) MiB"
rate=$(send "$CHUNK")
echo "one more chunk after the restart: $rate msg/s (first chunk $first_rate, last before the restart $last_rate); RSS $(rss_mib) MiB, peak $(hwm_mib) MiB"
