#!/usr/bin/env bash
# A large backlog for one far-away destination, on one node (durable SQLite queue):
#   python smtplib (SESSIONS sessions) -> ActorGateway -> latency proxy (RTT_MS) -> smtp-sink  "slow.example"
#                                                     -> smtp-sink on loopback                 "fast.example"
# MESSAGES messages with unique Message-IDs go to slow.example as fast as the gateway accepts
# them. While the slow destination works through its backlog, PROBES single messages to
# fast.example are sent one after another; each probe's time from the gateway's 250 to its
# arrival at the fast sink is reported (a destination's backlog must not hold the others up).
# Reports: accept time, drain time, the node's peak and final memory (RSS and PSS, sampled
# every second), messages deferred without being sent ("not attempted"), and the sinks'
# Message-IDs counted: every message exactly once, none lost, none twice.
#   usage: [RTT_MS=200] tests/bench/destination-backlog.sh [MESSAGES=20000] [SESSIONS=20] [SIZE=2000] [PROBES=10]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MESSAGES=${1:-20000}; SESSIONS=${2:-20}; SIZE=${3:-2000}; PROBES=${4:-10}; RTT_MS=${RTT_MS:-200}
COMMAND="RTT_MS=$RTT_MS tests/bench/destination-backlog.sh $MESSAGES $SESSIONS $SIZE $PROBES"
for n in "$MESSAGES" "$SESSIONS" "$SIZE" "$PROBES" "$RTT_MS"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "usage: [RTT_MS=200] tests/bench/destination-backlog.sh [MESSAGES] [SESSIONS] [SIZE] [PROBES]" >&2; exit 2; }
done
DRAIN_MAX=${DRAIN_MAX:-3600}   # give up when the backlog is not delivered after this many seconds
export PATH=$PATH:/usr/sbin:/usr/lib/postfix/sbin
for p in smtp-sink dnsmasq; do command -v $p >/dev/null || { echo "$p missing: run tests/run-all.sh once (it installs the packages)" >&2; exit 1; }; done

. "$ROOT/tests/bench/lib.sh"

start_sender_dns

# Two sinks that append every message to a dump file (smtp-sink runs as nobody).
mkdir -m 777 "$WORK/slow" "$WORK/fast"
SLOW_SINK=$(free_port); FAST_SINK=$(free_port)
smtp-sink -u nobody -D "$WORK/slow/dump" 127.0.0.1:"$SLOW_SINK" 1000 2>/dev/null & PIDS+=($!)
smtp-sink -u nobody -D "$WORK/fast/dump" 127.0.0.1:"$FAST_SINK" 100 2>/dev/null & PIDS+=($!)
wait_port "$SLOW_SINK"; wait_port "$FAST_SINK"
SLOW_RELAY=$(free_port)
python3 "$ROOT/tests/bench/latency-proxy.py" --listen 127.0.0.1:"$SLOW_RELAY" --target 127.0.0.1:"$SLOW_SINK" --rtt-ms "$RTT_MS" \
  > "$WORK/proxy.out" 2>&1 & PIDS+=($!)
for _ in $(seq 1 400); do grep -q '^listening on' "$WORK/proxy.out" && break; sleep 0.05; done
grep -q '^listening on' "$WORK/proxy.out" || fail "latency proxy did not start"
# Message-IDs in a dump file (header lines only; the generated bodies hold none)
ids() { grep -ai '^message-id:' "$1" 2>/dev/null | tr -d '\r' | awk '{print $2}' || true; }
# distinct Message-IDs at the slow sink: the run ends when every message has arrived, not when
# the sink has counted as many (a duplicate would hide a missing one)
slow_count() { ids "$WORK/slow/dump" | sort -u | wc -l; }

SMTP_PORT=$(free_port); OPS_PORT=$(free_port)
cat > "$WORK/node.conf" <<EOF
gateway {
  data-dir = "$WORK/data"
  operations.port = $OPS_PORT
  smtp { server-name = "gw.bench", max-connections-per-client = 1000, endpoints = [ { name = smtp, address = "127.0.0.1", port = $SMTP_PORT } ] }
  dns.servers = ["127.0.0.1:$DNS_PORT"]
  delivery.routes { "slow.example" = "127.0.0.1:$SLOW_RELAY", "fast.example" = "127.0.0.1:$FAST_SINK" }
  tenants.local.domains = ["sender.example"]
}
EOF
start_node "$WORK/node.conf" "$SMTP_PORT"

# Memory of the node, once a second: "seconds rss_kib pss_kib" lines.
( while kill -0 "$NODE_PID" 2>/dev/null && [ ! -f "$WORK/stop-sampling" ]; do
    rss=$(awk '/^VmRSS:/ {print $2}' /proc/$NODE_PID/status 2>/dev/null || echo 0)
    pss=$(awk '/^Pss:/ {print $2}' /proc/$NODE_PID/smaps_rollup 2>/dev/null || echo 0)
    echo "$(now) ${rss:-0} ${pss:-0}"; sleep 1
  done > "$WORK/memory.txt" ) &
PIDS+=($!)

cat > "$WORK/send.py" <<'EOF'
import smtplib, sys, threading, time
port, count, sessions, size, prefix, rcpt = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
line = ("x" * 76 + "\r\n")
body = (line * (size // len(line) + 1))[:size]
lock = threading.Lock(); nxt = [0]; errors = []
def take():
    with lock:
        if nxt[0] >= count: return None
        nxt[0] += 1; return nxt[0]
def worker():
    s = smtplib.SMTP("127.0.0.1", port, timeout=600); s.ehlo("bench.sender.example")
    while (i := take()) is not None:
        msg = (f"From: <bench@sender.example>\r\nTo: <{rcpt}>\r\nSubject: backlog {i}\r\n"
               f"Message-ID: <{prefix}-{i}@sender.example>\r\nDate: Tue, 01 Dec 2026 00:00:00 +0000\r\n\r\n{body}")
        try: s.sendmail("bench@sender.example", [rcpt], msg.encode())
        except Exception as e:
            with lock: errors.append(f"{i}: {e}")
    s.quit()
threads = [threading.Thread(target=worker) for _ in range(sessions)]
for t in threads: t.start()
for t in threads: t.join()
for e in errors[:10]: print("error", e, file=sys.stderr)
sys.exit(1 if errors else 0)
EOF
# probe N -> seconds from the 250 of a message to fast.example until it is at the fast sink
probe() {
  python3 - "$SMTP_PORT" "$WORK/fast/dump" "$1" <<'EOF'
import smtplib, sys, time
port, dump, n = int(sys.argv[1]), sys.argv[2], sys.argv[3]
mid = f"<probe-{n}@sender.example>"
s = smtplib.SMTP("127.0.0.1", port, timeout=60)
s.sendmail("bench@sender.example", ["probe@fast.example"],
           f"From: <bench@sender.example>\r\nTo: <probe@fast.example>\r\nSubject: probe {n}\r\nMessage-ID: {mid}\r\n\r\nprobe\r\n".encode())
t0 = time.monotonic(); s.quit()
while time.monotonic() - t0 < 120:
    try:
        if mid.encode() in open(dump, "rb").read(): print(f"{time.monotonic() - t0:.3f}"); sys.exit(0)
    except FileNotFoundError: pass
    time.sleep(0.005)
print("timeout"); sys.exit(1)
EOF
}

echo "command: $COMMAND"
echo "code: $REVISION; $MESSAGES messages of $SIZE bytes to slow.example ($RTT_MS ms round trip) from $SESSIONS sessions; $PROBES probes to fast.example (loopback)"
T0=$(now)
python3 "$WORK/send.py" "$SMTP_PORT" "$MESSAGES" "$SESSIONS" "$SIZE" bench slow@slow.example 2> "$WORK/send.err" &
SEND_PID=$!; PIDS+=($SEND_PID)
PROBE_TIMES=(); T_ACCEPTED=""; next_probe=$((T0 + 5)); next_line=$((T0 + 10)); last=0; last_move=$T0
while :; do
  t=$(now); n=$(slow_count)
  if [ -z "$T_ACCEPTED" ] && ! kill -0 "$SEND_PID" 2>/dev/null; then
    wait "$SEND_PID" || { cat "$WORK/send.err" >&2; fail "the sender failed"; }
    T_ACCEPTED=$t; echo "  $((t - T0)) s: all $MESSAGES accepted, $n delivered" >&2
  fi
  # Probes while the backlog is at least a quarter of the messages.
  if [ ${#PROBE_TIMES[@]} -lt "$PROBES" ] && [ "$t" -ge "$next_probe" ] && [ $((MESSAGES - n)) -ge $((MESSAGES / 4)) ]; then
    p=$(probe ${#PROBE_TIMES[@]}) || fail "probe ${#PROBE_TIMES[@]} to fast.example did not arrive within 120 s"
    PROBE_TIMES+=("$p"); echo "  $((t - T0)) s: probe to fast.example arrived $p s after its 250 (backlog $((MESSAGES - n)))" >&2
    next_probe=$((t + 10))
  fi
  [ "$n" -ge "$MESSAGES" ] && break
  [ "$n" -gt "$last" ] && { last=$n; last_move=$t; }
  [ $((t - T0)) -ge "$DRAIN_MAX" ] && fail "only $n of $MESSAGES delivered after $DRAIN_MAX s"
  if [ "$t" -ge "$next_line" ]; then
    rss=$(tail -1 "$WORK/memory.txt" | awk '{print int($2/1024)}')
    echo "  $((t - T0)) s: delivered $n of $MESSAGES, waited out queue-wait so far $(grep -c 'for a connection to slow.example' "$WORK/node.log" || true), RSS $rss MiB" >&2
    next_line=$((t + 10))
  fi
  sleep 1
done
T_DONE=$(now)
sleep 30  # late duplicates (a retry of something already delivered) would arrive now
touch "$WORK/stop-sampling"; sleep 1.5

ids "$WORK/slow/dump" | sort | uniq -c > "$WORK/slow-ids"
distinct=$(wc -l < "$WORK/slow-ids")
twice=$(awk '$1 > 1' "$WORK/slow-ids" | wc -l)
extra=$(awk '$1 > 1 {s += $1 - 1} END {print s+0}' "$WORK/slow-ids")
missing=$((MESSAGES - distinct))
waited=$(grep -c 'for a connection to slow.example' "$WORK/node.log" || true)
read -r peak_rss peak_pss < <(awk '$2 > r {r = $2} $3 > p {p = $3} END {print int(r/1024), int(p/1024)}' "$WORK/memory.txt")
read -r end_rss end_pss < <(tail -1 "$WORK/memory.txt" | awk '{print int($2/1024), int($3/1024)}')
probes=$(printf '%s\n' "${PROBE_TIMES[@]}" | sort -n | awk '{a[NR]=$1} END {if (NR) printf "median %.3f s, max %.3f s (%d probes)", a[int((NR+1)/2)], a[NR], NR; else print "none"}')

echo
echo "| $MESSAGES x $SIZE B to one destination $RTT_MS ms away, one node | figure |"
echo "|---|---:|"
echo "| all accepted after | $((T_ACCEPTED - T0)) s ($((MESSAGES / (T_ACCEPTED - T0 > 0 ? T_ACCEPTED - T0 : 1))) msg/s) |"
echo "| all delivered after | $((T_DONE - T0)) s ($((MESSAGES / (T_DONE - T0 > 0 ? T_DONE - T0 : 1))) msg/s) |"
echo "| distinct Message-IDs at the sink / missing / delivered more than once | $distinct / $missing / $twice ($extra extra copies) |"
echo "| messages that waited out queue-wait (and asked again) | $waited |"
echo "| node memory, peak RSS / PSS | $peak_rss / $peak_pss MiB |"
echo "| node memory after the backlog, RSS / PSS | $end_rss / $end_pss MiB |"
echo "| probe to a loopback destination during the backlog, 250 to arrival | $probes |"
[ "$missing" = 0 ] && [ "$twice" = 0 ] || fail "not exactly once: $missing missing, $twice delivered more than once"
