#!/usr/bin/env bash
# CPU time the gateway spends per message, one node (SQLite, built-in scanners), in the steady
# state: WARMUP messages first (not measured), then MESSAGES messages through smtp-source ->
# node -> smtp-sink, with the node's user+system CPU time read from /proc before and after.
# With PERF=1 the measured part is also sampled with perf (the node writes a perf map), and
# the hottest functions are printed (the report stays in $PERF_OUT if set).
# With KEEP_DATA=dir the node's data directory and log are copied there at the end of each run.
# With SMAPS_OUT=dir the node's /proc smaps and status are copied there at the end of each run
# (smaps-RUN, status-RUN), for a breakdown of its memory mapping by mapping.
# With ALLOC=1 the first ALLOC_SECONDS (default 10) of the measured part are traced with the
# runtime's allocation events (dotnet-trace; `dotnet tool install -g dotnet-trace`), and where the
# node allocates is printed by stack, per message (tests/bench/alloc-stacks; the trace stays in
# $ALLOC_OUT if set). Give it MESSAGES enough to outlast the trace.
#   usage: [WARMUP=3000] [PERF=0] [PERF_OUT=dir] [ALLOC=0] [ALLOC_SECONDS=10] [ALLOC_OUT=dir] [KEEP_DATA=dir] [SMAPS_OUT=dir] tests/bench/cpu-per-message.sh [MESSAGES] [SESSIONS] [RUNS] [EXTRA_GATEWAY_CONF]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MESSAGES=${1:-3000}; SESSIONS=${2:-20}; RUNS=${3:-3}; EXTRA=${4:-}; SIZE=2000; WARMUP=${WARMUP:-3000}; PERF=${PERF:-0}
export PATH=$PATH:/usr/sbin
for p in smtp-source smtp-sink dnsmasq; do command -v $p >/dev/null || { echo "$p missing: run tests/run-all.sh once (it installs the packages)" >&2; exit 1; }; done
[ "$PERF" = 1 ] && { command -v perf >/dev/null || { echo "perf missing (Debian package linux-perf)" >&2; exit 1; }; }
ALLOC=${ALLOC:-0}; ALLOC_SECONDS=${ALLOC_SECONDS:-10}
if [ "$ALLOC" = 1 ]; then
  export PATH=$PATH:$HOME/.dotnet/tools
  command -v dotnet-trace >/dev/null || { echo "dotnet-trace missing: dotnet tool install -g dotnet-trace" >&2; exit 1; }
  dotnet build -c Release -v q --nologo "$ROOT/tests/bench/alloc-stacks" >/dev/null || { echo "tests/bench/alloc-stacks does not build" >&2; exit 1; }
fi
. "$ROOT/tests/bench/lib.sh"
start_sender_dns

ticks=$(getconf CLK_TCK)
cpu_seconds() { awk -v t="$ticks" '{print ($14 + $15) / t}' "/proc/$1/stat"; }
# (its last counters only: the file grows by about 50 octets a message)
sink_count() { { tail -c 200 "$WORK/sink.out" | tr '\r' '\n' | grep -o 'mesg=[0-9]*' || true; } | tail -1 | cut -d= -f2; }
wait_sink() {
  local n=0
  for _ in $(seq 1 9000); do n=$(sink_count); n=${n:-0}; [ "$n" -ge "$1" ] && return 0; sleep 0.1; done
  fail "only $n of $1 messages reached the sink"
}

one_run() {
  local sink smtp t0 t1 c0 c1 perf_pid=""
  sink=$(free_port); smtp=$(free_port)
  smtp-sink -u nobody -c 127.0.0.1:"$sink" 1000 > "$WORK/sink.out" 2>/dev/null & local sink_pid=$!
  wait_port "$sink"
  cat > "$WORK/bench.conf" <<CONF
gateway {
  data-dir = "$WORK/data-$1"
  operations.port = 0
  smtp { server-name = "gw.bench", max-connections-per-client = 1000, endpoints = [ { name = smtp, address = "127.0.0.1", port = $smtp } ] }
  dns.servers = ["127.0.0.1:$DNS_PORT"]
  delivery.routes { "rcpt.example" = "127.0.0.1:$sink" }
  tenants.local.domains = ["sender.example"]
}
CONF
  [ -n "$EXTRA" ] && cat "$EXTRA" >> "$WORK/bench.conf"
  # W^X off: with it the JIT's code is double-mapped and perf cannot name managed frames.
  [ "$PERF" = 1 ] && export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
  start_node "$WORK/bench.conf" "$smtp"
  smtp-source -s "$SESSIONS" -m "$WARMUP" -l "$SIZE" -f bench@sender.example -t rcpt@rcpt.example 127.0.0.1:"$smtp" >/dev/null
  wait_sink "$WARMUP"
  if [ "$PERF" = 1 ]; then
    perf record -F 499 -g -p "$NODE_PID" -o "$WORK/perf.data" >/dev/null 2>&1 & perf_pid=$!
    sleep 1
    maplines0=$(wc -l < "/tmp/perf-$NODE_PID.map")
  fi
  local trace_pid="" counted=""
  if [ "$ALLOC" = 1 ]; then
    dotnet-trace collect -p "$NODE_PID" --providers Microsoft-Windows-DotNETRuntime:0x1:5 --duration "00:00:00:$ALLOC_SECONDS" \
      -o "$WORK/alloc.nettrace" > "$WORK/trace.out" 2>&1 & trace_pid=$!
    for _ in $(seq 1 100); do grep -qs '^Output File' "$WORK/trace.out" && break; sleep 0.1; done
    # the messages the trace covers, counted at the sink
    (n0=$(sink_count); sleep "$ALLOC_SECONDS"; echo $(( $(sink_count) - ${n0:-0} )) > "$WORK/alloc-messages") & counted=$!
  fi
  c0=$(cpu_seconds "$NODE_PID"); t0=$(date +%s.%N)
  smtp-source -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f bench@sender.example -t rcpt@rcpt.example 127.0.0.1:"$smtp" >/dev/null
  wait_sink $((WARMUP + MESSAGES))
  c1=$(cpu_seconds "$NODE_PID"); t1=$(date +%s.%N)
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    echo "methods compiled during the measured part: $(( $(wc -l < "/tmp/perf-$NODE_PID.map") - maplines0 ))" >&2
    tail -n +"$maplines0" "/tmp/perf-$NODE_PID.map" > "$WORK/perf-new-methods.txt"
    perf report -i "$WORK/perf.data" --no-children --sort symbol --percent-limit 0.7 --stdio 2>/dev/null | grep -v '^$' | grep '%' | head -60 > "$WORK/perf-top.txt" || true
    cat "$WORK/perf-top.txt" >&2
    if [ -n "${PERF_OUT:-}" ]; then mkdir -p "$PERF_OUT"; cp "$WORK/perf.data" "/tmp/perf-$NODE_PID.map" "$WORK/perf-new-methods.txt" "$PERF_OUT/" 2>/dev/null || true; fi
    rm -f "/tmp/perf-$NODE_PID.map"
  fi
  if [ -n "$trace_pid" ]; then
    wait "$trace_pid" || true; wait "$counted" || true
    dotnet "$ROOT/tests/bench/alloc-stacks/bin/Release/net10.0/AllocStacks.dll" "$WORK/alloc.nettrace" "$(cat "$WORK/alloc-messages")" 30 5 >&2 \
      || { echo "no allocation report:" >&2; cat "$WORK/trace.out" >&2; }
    if [ -n "${ALLOC_OUT:-}" ]; then mkdir -p "$ALLOC_OUT"; cp "$WORK/alloc.nettrace" "$ALLOC_OUT/alloc-$1.nettrace"; fi
    rm -f "$WORK"/alloc.nettrace*
  fi
  local rss; rss=$(awk '/^VmHWM/ {print int($2/1024)}' "/proc/$NODE_PID/status")
  if [ -n "${SMAPS_OUT:-}" ]; then mkdir -p "$SMAPS_OUT"; cp "/proc/$NODE_PID/smaps" "$SMAPS_OUT/smaps-$1"; cp "/proc/$NODE_PID/status" "$SMAPS_OUT/status-$1"; fi
  kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true; NODE_PID=""
  if [ -n "${KEEP_DATA:-}" ]; then mkdir -p "$KEEP_DATA"; cp -r "$WORK/data-$1" "$WORK/node.log" "$KEEP_DATA/"; fi
  kill "$sink_pid" 2>/dev/null || true
  python3 -c "print(round(($c1-$c0)/$MESSAGES*1e6), round($MESSAGES/($t1-$t0)), $rss)"
}

ALL=""
for i in $(seq 1 "$RUNS"); do
  read -r us rate rss < <(one_run "$i")
  echo "  run $i: $us µs CPU per message, $rate msg/s end to end, peak RSS $rss MiB" >&2
  ALL="$ALL $us"
done
median=$(echo $ALL | tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "gateway CPU per message (median of $RUNS, $MESSAGES msgs after $WARMUP warm-up, $SESSIONS sessions, code $REVISION): $median µs"
