#!/usr/bin/env bash
# End-to-end relay benchmark, ActorGateway next to Postfix in the same run:
#   smtp-source -> ActorGateway (durable SQLite queue) -> smtp-sink
#   smtp-source -> Postfix (private relay, default fsync durability) -> smtp-sink
# Prints accept rate (smtp-source finished) and end-to-end rate (all messages at the sink),
# median of RUNS runs, their ratio, and peak memory. With EXTERNAL_SCANNERS=1 a third
# column runs the gateway with clamd and rspamd (started here) instead of the built-in
# scanners, to show what scanning costs.
# With CLUSTER=1 a further column runs the three sites on this machine as production runs them
# (hocon/cluster.conf and the site files: 127.0.0.1-3, PostgreSQL 15 started here, every node
# with its real roles, so mail accepted at the bad gateway eu-de-03 leaves through eu-de-01/02),
# with the load spread over the three nodes (a third of the sessions and messages each), and
# reports the CPU time per message of the three nodes and PostgreSQL together.
# With LATENCY=1 each run ends with a latency client offering half the accept rate
# just measured for 20 s (a new connection per message, as smtp-source), and the median and
# 99th percentile of the accept latency (final "." to the reply) are reported, and the nodes' own
# histograms over that phase, summed over the nodes of a cluster: accept (server_within25ms,
# server_p99_bucket), the journal's write and each scanner (their p99 buckets). LATENCY_RATE=N
# offers N msg/s instead, the same to every target (to compare two builds at the same load: the
# client runs on the same cores and needs more of them the more it offers).
# WIRE=1 also captures the latency phase on the loopback interface (tcpdump) and reports the
# server's part of each accept latency, from the client's last data segment to the reply
# (wire-latency.py: wire_p50, wire_p99), without what the client's event loop adds.
# The latency client is tests/bench/accept-latency.c (built here with cc: one thread and epoll,
# little of the cores it shares with the server); LATENCY_CLIENT=python runs accept-latency.py
# instead, as the figures before 2026-12-04 were measured (its event loop took most of a core
# at 600 msg/s and added its own delay to each figure).
# LATENCY_NICE=N runs the latency client at that nice level: the server then has the cores first
# when both want them, as when its clients are other machines (read the wire figures then: the
# client's own are late by whatever it waited for a core).
# Each target first gets WARMUP messages (default 3000, not measured) so that both are measured
# in their steady state as long-running daemons. For the gateway that means after tiered
# compilation has settled: after 300 messages the JIT was still recompiling hot methods
# (about 800 a second, 9 % of the CPU samples), and it still was after 2000.
# With RTT_MS > 0 each sink sits behind a latency proxy (latency-proxy.py: connect after one
# round trip, every chunk delivered half a round trip after it was read, each way) and both
# targets relay to the proxy, as to a receiving server that far away; the default 0 relays
# straight to the sink over loopback.
# ONLY="cluster" (for instance) runs only those targets and Postfix.
#   usage: [EXTERNAL_SCANNERS=1] [CLUSTER=1] [ONLY=targets] [LATENCY=1] [LATENCY_RATE=N] [LATENCY_NICE=N] [LATENCY_CLIENT=c|python] [WIRE=1] [WARMUP=3000] [RTT_MS=0] tests/bench/gateway-vs-postfix.sh [MESSAGES] [SESSIONS] [RUNS] [EXTRA_GATEWAY_CONF]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MESSAGES=${1:-2000}; SESSIONS=${2:-20}; RUNS=${3:-3}; EXTRA=${4:-}; SIZE=2000; WARMUP=${WARMUP:-3000}
RTT_MS=${RTT_MS:-0}; RTT_NOTE=""; [ "$RTT_MS" -gt 0 ] && RTT_NOTE=", $RTT_MS ms round trip to the sink"
export PATH=$PATH:/usr/sbin:/usr/lib/postfix/sbin
for p in smtp-source smtp-sink postfix dnsmasq; do command -v $p >/dev/null || { echo "$p missing: run tests/run-all.sh once (it installs the packages)" >&2; exit 1; }; done
[ "${WIRE:-0}" = 1 ] && { command -v tcpdump >/dev/null || { echo "WIRE=1 needs tcpdump (Debian package tcpdump) and the right to capture on lo" >&2; exit 1; }; }

WORK=$(mktemp -d); chmod 755 "$WORK"; PIDS=()  # Postfix daemons run as user postfix
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # latency proxies: started inside the runs' subshells, so listed in a file rather than in PIDS
  [ -f "$WORK/proxy.pids" ] && for p in $(cat "$WORK/proxy.pids"); do kill "$p" 2>/dev/null || true; done
  [ -f "$WORK/postfix/pgid" ] && kill -- -"$(cat "$WORK/postfix/pgid")" 2>/dev/null || true
  sleep 0.5; rm -rf "$WORK"
}
trap cleanup EXIT
LATENCY_COMMAND=(python3 "$ROOT/tests/bench/accept-latency.py")
if [ "${LATENCY:-0}" = 1 ] && [ "${LATENCY_CLIENT:-c}" = c ]; then
  command -v cc >/dev/null || { echo "the latency client needs a C compiler (Debian package gcc), or LATENCY_CLIENT=python" >&2; exit 1; }
  cc -O2 -o "$WORK/accept-latency" "$ROOT/tests/bench/accept-latency.c" || exit 1
  LATENCY_COMMAND=("$WORK/accept-latency")
fi
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 400); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not listening" >&2; return 1; }
now() { date +%s.%N; }

echo "building the gateway (Release)..." >&2
dotnet build -c Release -v q --nologo src/ActorGateway.Node >/dev/null
NODE_DLL=$ROOT/src/ActorGateway.Node/bin/Release/net10.0/ActorGateway.Node.dll
# As the shipped service files and image start the node (see deploy/): a fixed budget for new objects.
export DOTNET_GCgen0size=${DOTNET_GCgen0size:-0x800000}

# DNS for the gateway's sender-domain check, with a TTL (DNS_TTL, default 300 s) as real records have.
DNS_PORT=$(free_port)
dnsmasq --keep-in-foreground --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
  --mx-host=sender.example,mail.sender.example,10 --host-record=mail.sender.example,127.0.0.1 --address=/#/ --user=root \
  --local-ttl="${DNS_TTL:-300}" \
  --pid-file="$WORK/dnsmasq.pid" 2>/dev/null &
PIDS+=($!)

# start_sink PORT -> starts a counting smtp-sink, its counter in $WORK/sink-PORT.out
start_sink() {
  smtp-sink -u nobody -c 127.0.0.1:"$1" 1000 > "$WORK/sink-$1.out" 2>/dev/null &
  SINK_PID=$!; PIDS+=($SINK_PID); wait_port "$1"
}
# start_relay SINK_PORT -> $RELAY_PORT, where a target delivers to reach that sink: the sink
# itself, or with RTT_MS > 0 a latency proxy in front of it ($PROXY_PID)
start_relay() {
  RELAY_PORT=$1; PROXY_PID=""
  [ "$RTT_MS" -gt 0 ] || return 0
  RELAY_PORT=$(free_port)
  python3 "$ROOT/tests/bench/latency-proxy.py" --listen 127.0.0.1:"$RELAY_PORT" --target 127.0.0.1:"$1" --rtt-ms "$RTT_MS" \
    > "$WORK/proxy-$RELAY_PORT.out" 2>&1 &
  PROXY_PID=$!; echo "$PROXY_PID" >> "$WORK/proxy.pids"
  # its ready line rather than wait_port: a probe connection would reach the sink
  for _ in $(seq 1 400); do grep -q '^listening on' "$WORK/proxy-$RELAY_PORT.out" && return 0; sleep 0.05; done
  echo "latency proxy on port $RELAY_PORT did not start" >&2; cat "$WORK/proxy-$RELAY_PORT.out" >&2; return 1
}
stop_relay() { if [ -n "$PROXY_PID" ]; then kill "$PROXY_PID" 2>/dev/null || true; fi; }
# (no count line yet: nothing, not a failed pipeline, which would end the run silently under pipefail)
# (its last counters only: the file grows by about 50 octets a message, and reading all of it ten
# times a second took CPU from what was measured)
sink_count() { { tail -c 200 "$WORK/sink-$1.out" | tr '\r' '\n' | grep -o 'mesg=[0-9]*' || true; } | tail -1 | cut -d= -f2; }

# wait_sink SINK_PORT COUNT -> waits until the sink has counted COUNT messages (at most 900 s)
wait_sink() {
  local n=0
  for _ in $(seq 1 9000); do
    n=$(sink_count "$1"); n=${n:-0}
    [ "$n" -ge "$2" ] && return 0
    sleep 0.1
  done
  echo "only $n of $2 messages reached the sink" >&2; exit 1
}

# run_load "SMTP_PORT..." SINK_PORT -> "accept_rate e2e_rate": the sessions and messages split
# evenly over the given ports ("address:port" or a port on 127.0.0.1), one smtp-source each
run_load() {
  local t0 t1 t2 c0=0 targets n
  read -ra targets <<< "$1"; n=${#targets[@]}
  source_all() {
    local pids=() t
    for t in "${targets[@]}"; do
      [[ "$t" == *:* ]] || t="127.0.0.1:$t"
      smtp-source -s $((SESSIONS / n)) -m $(($1 / n)) -l "$SIZE" -f bench@sender.example -t rcpt@rcpt.example "$t" >/dev/null & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
  }
  if [ "$WARMUP" -gt 0 ]; then
    source_all "$WARMUP"
    wait_sink "$2" $((WARMUP / n * n))
  fi
  # The operations endpoint's first answer compiles its code and asks the actors for the first
  # time (about 0.4 s of a core on each node): not at the start of the latency phase.
  [ -n "${METRICS_URL:-}" ] && scrape $METRICS_URL > /dev/null
  local p split0=()
  [ -n "${CPU_PIDS:-}" ] && { c0=$(cpu_of $CPU_PIDS); for p in $CPU_PIDS; do split0+=("$(cpu_of "$p")"); done; }
  t0=$(now)
  source_all "$MESSAGES"
  t1=$(now)
  wait_sink "$2" $((WARMUP / n * n + MESSAGES / n * n))
  t2=$(now)
  # CPU time per message of the given processes (and of their children that have exited) over the measured part
  if [ -n "${CPU_PIDS:-}" ]; then
    python3 -c "print(round(($(cpu_of $CPU_PIDS) - $c0) / $((MESSAGES / n * n)) * 1e6))" > "$WORK/cpu-per-message"
    # and each process's share (µs per message, in the order given), to see where it goes
    local i=0 split=""
    for p in $CPU_PIDS; do split="$split $(python3 -c "print(round(($(cpu_of "$p") - ${split0[$i]}) / $((MESSAGES / n * n)) * 1e6))")"; i=$((i + 1)); done
    echo "    CPU µs per message by process ($CPU_PIDS):$split" >&2
  fi
  local rates; rates=$(python3 -c "print(round($((MESSAGES / n * n))/($t1-$t0)), round($((MESSAGES / n * n))/($t2-$t0)))")
  if [ "${LATENCY:-0}" = 1 ]; then
    local probe="" t
    for t in "${targets[@]}"; do [[ "$t" == *:* ]] || t="127.0.0.1:$t"; probe="$probe,$t"; done
    [ -n "${METRICS_URL:-}" ] && scrape $METRICS_URL > "$WORK/metrics-before"
    local capture="" ports; ports=$(echo "${probe#,}" | tr ',' '\n' | sed 's/.*://' | paste -sd, -)
    if [ "${WIRE:-0}" = 1 ]; then
      tcpdump -i lo -nn -s 96 -B 16384 -w "$WORK/wire.pcap" "tcp and ($(echo "$ports" | sed 's/,/ or /g; s/[0-9][0-9]*/port &/g'))" 2> "$WORK/tcpdump.err" &
      capture=$!
      for _ in $(seq 1 100); do grep -qs 'listening on' "$WORK/tcpdump.err" && break; sleep 0.05; done
    fi
    nice -n "${LATENCY_NICE:-0}" "${LATENCY_COMMAND[@]}" "${probe#,}" "${LATENCY_RATE:-$(( ${rates%% *} / 2 ))}" 20 "$SIZE" > "$WORK/latency"
    if [ -n "$capture" ]; then
      sleep 0.5; kill -INT "$capture"; wait "$capture" 2>/dev/null || true
      grep -o '[0-9]* packets dropped by kernel' "$WORK/tcpdump.err" | grep -v '^0 ' >&2 || true
      echo " $(python3 "$ROOT/tests/bench/wire-latency.py" "$WORK/wire.pcap" "$ports")" >> "$WORK/latency"
      rm -f "$WORK/wire.pcap"
    fi
    if [ -n "${METRICS_URL:-}" ]; then
      scrape $METRICS_URL > "$WORK/metrics-after"
      echo " $(server_latency "$WORK/metrics-before" "$WORK/metrics-after")" >> "$WORK/latency"
    fi
  fi
  echo "$rates"
}

# scrape URL... -> the nodes' /metrics, one after the other (server_latency sums them)
scrape() { local u; for u in "$@"; do curl -s -m 5 "$u" || true; done; }

# server_latency BEFORE AFTER -> the nodes' own histograms over the latency phase (two scrapes of
# /metrics, summed over the nodes): the share of accepted messages answered within 25 ms, the
# bucket that holds the 99th percentile of the accept latency, and the same bucket for the parts
# of it the node measures: the journal's write (queued to committed) and each scanner. It leaves
# out what the client and the machine add.
server_latency() {
  python3 - "$1" "$2" <<'PY'
import re, sys
from collections import defaultdict
def buckets(path):
    b = defaultdict(lambda: defaultdict(float))
    for line in open(path):
        m = re.match(r'(actorgateway_(?:accept|journal_write|scan)_seconds)_bucket\{(.*?)le="([^"]+)"\} (\S+)', line)
        if not m: continue
        name, labels, le, count = m.groups()
        if name == "actorgateway_accept_seconds" and 'result="accepted"' not in labels: continue
        key = {"actorgateway_accept_seconds": "server", "actorgateway_journal_write_seconds": "journal"}.get(name) \
            or re.search(r'scanner="([^"]+)"', labels).group(1)
        b[key][float("inf") if le == "+Inf" else float(le)] += float(count)
    return b
a, b = buckets(sys.argv[1]), buckets(sys.argv[2])
out = []
for key in ["server", "journal", "antivirus", "antispam"]:
    d = sorted((le, b[key][le] - a[key].get(le, 0)) for le in b.get(key, {}))
    total = d[-1][1] if d else 0
    if total <= 0: out.append(f"{key}=none"); continue
    if key == "server": out.append(f"server_within25ms={next(c for le, c in d if le >= 0.025) / total * 100:.2f}%")
    out.append(f"{key}_p99_bucket={next(le for le, c in d if c >= 0.99 * total) * 1000:g}ms")
print(" ".join(out))
PY
}

# cpu_of PID... -> seconds of CPU used by these processes, their threads and their waited-for children
# (PostgreSQL's postmaster waits for its backends), and by their children still running
cpu_of() {
  local p all=""
  for p in "$@"; do all="$all $p $(pgrep -P "$p" | tr '\n' ' ')"; done
  for p in $all; do cat "/proc/$p/stat" 2>/dev/null; done |
    awk -v t="$(getconf CLK_TCK)" '{ s += $14 + $15 + $16 + $17 } END { printf "%.3f", s / t }'
}

# peak proportional set size (MiB; shared pages split between the processes that map them,
# so Postfix's many processes are not overcounted) of a process group, sampled until the
# file $WORK/stop-PGID exists
sample_memory() { python3 "$ROOT/tests/bench/peak-pss.py" "$1" "$WORK/stop-$1" "$WORK/peak-$1"; }

gateway_run() {
  local sink smtp dir pid extra=${1:-} ops=0
  sink=$(free_port); smtp=$(free_port); dir="$WORK/gw-$RANDOM"; mkdir -p "$dir"
  # With LATENCY=1 the operations endpoint is on, for the node's own accept histogram.
  [ "${LATENCY:-0}" = 1 ] && ops=$(free_port)
  start_sink "$sink"; start_relay "$sink"
  cat > "$dir/bench.conf" <<EOF
gateway {
  data-dir = "$dir/data"
  operations.port = $ops
  smtp { server-name = "gw.bench", max-connections-per-client = 1000, endpoints = [ { name = smtp, address = "127.0.0.1", port = $smtp } ] }
  dns.servers = ["127.0.0.1:$DNS_PORT"]
  delivery.routes { "rcpt.example" = "127.0.0.1:$RELAY_PORT" }
  tenants.local.domains = ["sender.example"]
}
EOF
  [ -n "$EXTRA" ] && cat "$EXTRA" >> "$dir/bench.conf"
  [ -n "$extra" ] && echo "$extra" >> "$dir/bench.conf"
  setsid dotnet "$NODE_DLL" --config "$dir/bench.conf" > "$dir/node.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do grep -q ' ready: cluster member up' "$dir/node.log" && break; sleep 0.1; done
  wait_port "$smtp"
  sample_memory "$pid" & local sampler=$!
  local r; r=$(METRICS_URL=$([ "$ops" != 0 ] && echo "http://127.0.0.1:$ops/metrics") run_load "$smtp" "$sink")
  touch "$WORK/stop-$pid"; wait $sampler
  kill "$pid"; wait "$pid" 2>/dev/null || true
  kill "$SINK_PID" 2>/dev/null || true; stop_relay
  echo "$r $(cat "$WORK/peak-$pid")"
}

postfix_run() {
  local sink smtp dir pgid
  sink=$(free_port); smtp=$(free_port); dir="$WORK/postfix"; rm -rf "$dir"; mkdir -p "$dir/etc" "$dir/data" "$dir/queue"
  start_sink "$sink"; start_relay "$sink"
  chown postfix "$dir/data"
  cat > "$dir/etc/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/queue
data_directory = $dir/data
myhostname = postfix.bench
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost = [127.0.0.1]:$RELAY_PORT
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
maillog_file = /dev/stdout
default_process_limit = 100
EOF
  # The packaged master.cf without chroot, with smtpd on our port.
  awk -v port="$smtp" 'BEGIN{OFS="  "}
    /^#/ || /^[ \t]/ || NF < 8 { print; next }
    $1 == "smtp" && $2 == "inet" { $1 = "127.0.0.1:" port }
    { $5 = "n"; print }' /usr/share/postfix/master.cf.dist > "$dir/etc/master.cf"
  postfix -c "$dir/etc" check >/dev/null 2>&1 || true
  setsid master -c "$dir/etc" -d > "$dir/master.log" 2>&1 &
  pgid=$!; echo "$pgid" > "$dir/pgid"
  wait_port "$smtp" || { cat "$dir/master.log" >&2; exit 1; }
  sample_memory "$pgid" & local sampler=$!
  local r; r=$(run_load "$smtp" "$sink")
  touch "$WORK/stop-$pgid"; wait $sampler
  kill -- -"$pgid" 2>/dev/null || true; sleep 1; rm -f "$dir/pgid"
  kill "$SINK_PID" 2>/dev/null || true; stop_relay
  echo "$r $(cat "$WORK/peak-$pgid")"
}

TARGETS="gateway postfix"
if [ "${EXTERNAL_SCANNERS:-0}" = 1 ]; then
  # clamd with the EICAR signature, rspamd with its normal worker only (data cached between runs).
  CLAMD_PORT=$(free_port); mkdir -p "$WORK/clamdb"
  echo "Eicar-Test-Signature:0:*:58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d5354414e444152442d414e544956495255532d544553542d46494c452124482b482a" > "$WORK/clamdb/test.ndb"
  printf 'Foreground yes\nTCPSocket %s\nTCPAddr 127.0.0.1\nDatabaseDirectory %s\nTemporaryDirectory %s\nUser root\nScanMail yes\n' \
    "$CLAMD_PORT" "$WORK/clamdb" "$WORK" > "$WORK/clamd.conf"
  clamd --config-file="$WORK/clamd.conf" >/dev/null 2>&1 & PIDS+=($!)
  RSPAMD_PORT=$(free_port); RL="$WORK/rspamd/override.d"; mkdir -p "$RL" "$WORK/rspamd-run" /tmp/actorgateway-rspamd-cache
  echo "bind_socket = \"127.0.0.1:$RSPAMD_PORT\"; count = 1;" > "$RL/worker-normal.inc"
  echo "bind_socket = \"127.0.0.1:$(free_port)\";" > "$RL/worker-controller.inc"
  echo "enabled = false;" > "$RL/worker-proxy.inc"
  echo "dns { nameserver = [\"127.0.0.1:$DNS_PORT\"]; timeout = 1s; retransmits = 1; }" > "$RL/options.inc"
  echo 'type = "console"; level = "error";' > "$RL/logging.inc"
  rspamd -f -i -u root -g root -c /etc/rspamd/rspamd.conf --var LOCAL_CONFDIR="$WORK/rspamd" --var DBDIR=/tmp/actorgateway-rspamd-cache \
    --var RUNDIR="$WORK/rspamd-run" --var LOGDIR="$WORK" >/dev/null 2>&1 & PIDS+=($!)
  wait_port "$CLAMD_PORT"; for _ in $(seq 1 4); do wait_port "$RSPAMD_PORT" && break; done
  SCANNERS_CONF="gateway.scanning.antivirus { engine = clamd, clamd = \"127.0.0.1:$CLAMD_PORT\" }
gateway.scanning.antispam { engine = rspamd, rspamd-url = \"http://127.0.0.1:$RSPAMD_PORT\" }"
  TARGETS="gateway scanned postfix"
fi
scanned_run() { gateway_run "$SCANNERS_CONF"; }

if [ "${CLUSTER:-0}" = 1 ]; then
  # One PostgreSQL for every cluster run (each run gets a database of its own), run as the
  # postgres user: initdb refuses root.
  PGBIN=/usr/lib/postgresql/15/bin
  [ -x "$PGBIN/initdb" ] || { echo "PostgreSQL 15 missing: run tests/run-all.sh once (it installs the packages)" >&2; exit 1; }
  as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
  PG_PORT=$(free_port); mkdir -p "$WORK/pg" "$WORK/pgsock"; [ "$(id -u)" = 0 ] && chown postgres "$WORK/pg" "$WORK/pgsock"
  as_pg "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg/log" -w -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $WORK/pgsock ${PG_OPTS:-}" start >/dev/null
  PG_PID=$(head -1 "$WORK/pg/postmaster.pid")
  stop_pg() { as_pg "$PGBIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1 || true; }
  trap 'stop_pg; cleanup' EXIT
  TARGETS="gateway cluster postfix"
fi

# cluster_run: the three sites with their shipped cluster and site files, each on its own
# loopback address with a free SMTP port, sharing a fresh database; load into all three.
cluster_run() {
  local sink db dir i p pids=() smtp=() ops=() urls="" samplers=() targets="" r mem=0 m
  sink=$(free_port); db="run$RANDOM"; dir="$WORK/cluster-$db"; mkdir -p "$dir"
  # (a subshell: a run that fails leaves no node, sink or proxy behind)
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; kill "$SINK_PID" 2>/dev/null || true; stop_relay' EXIT
  start_sink "$sink"; start_relay "$sink"
  as_pg "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE $db" >/dev/null
  for i in 1 2 3; do
    smtp[$i]=$(free_port); ops[$i]=0
    # With LATENCY=1 the operations endpoints are on, for the nodes' own histograms.
    [ "${LATENCY:-0}" = 1 ] && { ops[$i]=$(free_port); urls="$urls http://127.0.0.$i:${ops[$i]}/metrics"; }
    cat > "$dir/site-$i.conf" <<CONF
gateway {
  data-dir = "$dir/eu-de-0$i"
  operations.port = ${ops[$i]}
  smtp { max-connections-per-client = 1000, endpoints = [ { name = smtp, address = "127.0.0.$i", port = ${smtp[$i]} } ] }
  dns.servers = ["127.0.0.1:$DNS_PORT"]
  delivery.routes { "rcpt.example" = "127.0.0.1:$RELAY_PORT" }
  tenants.local.domains = ["sender.example"]
}
CONF
    [ -n "$EXTRA" ] && cat "$EXTRA" >> "$dir/site-$i.conf"
    ACTORGATEWAY_DB="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$db" \
      setsid dotnet "$NODE_DLL" --site "eu-de-0$i" --config "$dir/site-$i.conf" > "$dir/node-$i.log" 2>&1 &
    pids+=($!)
    targets="$targets 127.0.0.$i:${smtp[$i]}"
  done
  for i in 1 2 3; do
    for _ in $(seq 1 900); do grep -q ' ready: cluster member up' "$dir/node-$i.log" && break; sleep 0.1; done
    grep -q ' ready: cluster member up' "$dir/node-$i.log" || { echo "eu-de-0$i not ready:" >&2; tail -20 "$dir/node-$i.log" >&2; exit 1; }
    wait_port "${smtp[$i]}" 2>/dev/null || (exec 3<>"/dev/tcp/127.0.0.$i/${smtp[$i]}") || { echo "eu-de-0$i: SMTP not listening" >&2; exit 1; }
  done
  for p in "${pids[@]}"; do sample_memory "$p" & samplers+=($!); done
  r=$(CPU_PIDS="${pids[*]} $PG_PID" METRICS_URL="${urls# }" run_load "$targets" "$sink")
  for p in "${pids[@]}"; do touch "$WORK/stop-$p"; done
  for p in "${samplers[@]}"; do wait "$p"; done
  for p in "${pids[@]}"; do m=$(cat "$WORK/peak-$p"); [ "$m" -gt "$mem" ] && mem=$m; done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  kill "$SINK_PID" 2>/dev/null || true; stop_relay
  # accept, end to end, peak PSS of the largest node, CPU per message of the nodes and PostgreSQL
  echo "$r $mem $(cat "$WORK/cpu-per-message")"
}

# ONLY: a subset of the targets, Postfix always among them (every figure is a ratio to it).
if [ -n "${ONLY:-}" ]; then TARGETS="$(for t in $TARGETS; do case " $ONLY postfix " in *" $t "*) echo -n "$t ";; esac; done)"; fi
median() { tr ' ' '\n' | { grep -v '^$' || true; } | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
declare -A ACC E2E MEM CPU P50 P99 W99
LOAD_NOTE="at half the accept rate"; [ -n "${LATENCY_RATE:-}" ] && LOAD_NOTE="at $LATENCY_RATE msg/s"; LOAD_NOTE="$LOAD_NOTE, client ${LATENCY_CLIENT:-c}"
for target in gateway scanned cluster postfix; do ACC[$target]=""; E2E[$target]=""; MEM[$target]=""; done
for i in $(seq 1 "$RUNS"); do
  for target in $TARGETS; do
    # A run that fails prints why on stderr and gives no result; the other runs go on.
    if ! read -r a e m c < <(${target}_run); then echo "  run $i $target: failed, no result" >&2; continue; fi
    l=""; [ "${LATENCY:-0}" = 1 ] && { l=$(cat "$WORK/latency"); P50[$target]="${P50[$target]:-} $(echo "$l" | grep -o '\bp50=[0-9.]*' | cut -d= -f2)"; P99[$target]="${P99[$target]:-} $(echo "$l" | grep -o '\bp99=[0-9.]*' | cut -d= -f2)"; w=$(echo "$l" | { grep -o 'wire_p99=[0-9.]*' || true; } | cut -d= -f2); if [ -n "$w" ]; then W99[$target]="${W99[$target]:-} $w"; fi; }
    echo "  run $i $target: accept $a msg/s, end-to-end $e msg/s, peak $m MiB${c:+, $c µs CPU per message}${l:+, $LOAD_NOTE (ms): $l}" >&2
    ACC[$target]="${ACC[$target]} $a"; E2E[$target]="${E2E[$target]} $e"; MEM[$target]="${MEM[$target]} $m"; CPU[$target]="${CPU[$target]:-} ${c:-}"
  done
done
ga=$(echo ${ACC[gateway]} | median); ge=$(echo ${E2E[gateway]} | median); gm=$(echo ${MEM[gateway]} | median)
pa=$(echo ${ACC[postfix]} | median); pe=$(echo ${E2E[postfix]} | median); pm=$(echo ${MEM[postfix]} | median)
if [ "${EXTERNAL_SCANNERS:-0}" = 1 ]; then
  sa=$(echo ${ACC[scanned]} | median); se=$(echo ${E2E[scanned]} | median); sm=$(echo ${MEM[scanned]} | median)
  echo
  echo "| with clamd + rspamd ($MESSAGES msgs after $WARMUP warm-up, $SESSIONS sessions$RTT_NOTE, median of $RUNS) | ActorGateway + clamd + rspamd | Postfix | ratio |"
  echo "|---|---:|---:|---:|"
  python3 -c "print(f'| accept msg/s | $sa | $pa | {$sa/$pa:.2f} |'); print(f'| end-to-end msg/s | $se | $pe | {$se/$pe:.2f} |'); print(f'| gateway peak memory (PSS) MiB, daemons not counted | $sm | $pm | {$sm/$pm:.2f} |')"
fi
if [ "${CLUSTER:-0}" = 1 ]; then
  ca=$(echo ${ACC[cluster]} | median); ce=$(echo ${E2E[cluster]} | median); cm=$(echo ${MEM[cluster]} | median); cc=$(echo ${CPU[cluster]} | median)
  echo
  echo "| three sites, PostgreSQL ($MESSAGES msgs after $WARMUP warm-up, $SESSIONS sessions spread over the three nodes$RTT_NOTE, median of $RUNS) | ActorGateway cluster | Postfix | ratio |"
  echo "|---|---:|---:|---:|"
  python3 -c "print(f'| accept msg/s | $ca | $pa | {$ca/$pa:.2f} |'); print(f'| end-to-end msg/s | $ce | $pe | {$ce/$pe:.2f} |'); print(f'| peak memory (PSS) MiB, largest node / Postfix total | $cm | $pm | {$cm/$pm:.2f} |'); print(f'| CPU per message, three nodes + PostgreSQL | $cc µs | | |')"
fi
[ -n "$ga" ] && {
echo
echo "| measure ($MESSAGES msgs after $WARMUP warm-up, $SESSIONS sessions, $SIZE-octet messages$RTT_NOTE, median of $RUNS) | ActorGateway | Postfix | ratio |"
echo "|---|---:|---:|---:|"
python3 -c "print(f'| accept msg/s | $ga | $pa | {$ga/$pa:.2f} |'); print(f'| end-to-end msg/s | $ge | $pe | {$ge/$pe:.2f} |'); print(f'| peak memory (PSS) MiB | $gm | $pm | {$gm/$pm:.2f} |')"
}
if [ "${LATENCY:-0}" = 1 ]; then
  for target in $TARGETS; do
    echo "| accept latency $LOAD_NOTE, $target: p50 $(echo ${P50[$target]} | median) ms, p99 $(echo ${P99[$target]} | median) ms${W99[$target]:+, on the wire p99 $(echo ${W99[$target]} | median) ms} (medians of the runs) |"
  done
fi
