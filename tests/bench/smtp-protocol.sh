#!/usr/bin/env bash
# Bare SMTP protocol layer (discarding store) next to Postfix's smtp-sink, driven by
# smtp-source in the same run. Prints sessions/s (new connection per message) and
# messages/s (one connection reused, -d) as the median of RUNS runs, and the ratio.
#   usage: tests/bench/smtp-protocol.sh [MESSAGES] [SESSIONS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
MESSAGES=${1:-5000}; SESSIONS=${2:-20}; RUNS=${3:-3}; SIZE=2000
for p in smtp-source smtp-sink; do command -v $p >/dev/null || [ -x /usr/sbin/$p ] || { echo "$p missing: apt-get install postfix" >&2; exit 1; }; done
export PATH=$PATH:/usr/sbin

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; return 1; }

echo "building the benchmark server (Release)..." >&2
dotnet build -c Release -v q --nologo tests/ActorGateway.Smtp.Bench >/dev/null

OUR_PORT=$(free_port); SINK_PORT=$(free_port)
dotnet tests/ActorGateway.Smtp.Bench/bin/Release/net10.0/ActorGateway.Smtp.Bench.dll "$OUR_PORT" >/dev/null &
OUR_PID=$!
smtp-sink -u nobody -c 127.0.0.1:"$SINK_PORT" 1000 >/dev/null &
SINK_PID=$!
trap 'kill $OUR_PID $SINK_PID 2>/dev/null || true' EXIT
wait_port "$OUR_PORT"; wait_port "$SINK_PORT"

# rate TARGET_PORT EXTRA_FLAGS -> messages per second of one smtp-source run
rate() {
  local start end
  start=$(date +%s.%N)
  smtp-source $2 -s "$SESSIONS" -m "$MESSAGES" -l "$SIZE" -f bench@sender.example -t rcpt@rcpt.example 127.0.0.1:"$1" >/dev/null
  end=$(date +%s.%N)
  python3 -c "print(round($MESSAGES/($end-$start)))"
}
median() { tr ' ' '\n' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Warm-up, unmeasured: tiered compilation keeps recompiling hot methods for the first few
# seconds under load (measured: the JIT took 10 % of the CPU after 5000 sessions), and the
# gateway is a long-running process, so its steady state is what is compared.
echo "warming up (40000 messages, both modes)..." >&2
for flags in "" -d "" -d; do
  smtp-source $flags -s "$SESSIONS" -m 10000 -l "$SIZE" -f bench@sender.example -t rcpt@rcpt.example 127.0.0.1:"$OUR_PORT" >/dev/null
done
declare -A RUNS_OF
for mode in sessions messages; do
  flags=""; [ "$mode" = messages ] && flags="-d"
  # Alternating, so that drift on the machine touches both targets alike.
  for i in $(seq 1 "$RUNS"); do
    for target in gateway sink; do
      port=$OUR_PORT; [ "$target" = sink ] && port=$SINK_PORT
      r=$(rate "$port" "$flags"); RUNS_OF[$mode-$target]="${RUNS_OF[$mode-$target]:-} $r"
      echo "  $mode/s $target run $i: $r" >&2
    done
  done
done
declare -A R
for k in "${!RUNS_OF[@]}"; do R[$k]=$(echo ${RUNS_OF[$k]} | median); done
echo
echo "| measure ($MESSAGES msgs, $SESSIONS parallel sessions, $SIZE-octet messages) | ActorGateway.Smtp | smtp-sink | ratio |"
echo "|---|---:|---:|---:|"
for mode in sessions messages; do
  python3 -c "g,s=${R[$mode-gateway]},${R[$mode-sink]}; print(f'| $mode/s (median of $RUNS) | {g} | {s} | {g/s:.2f} |')"
done
