#!/usr/bin/env bash
# Message-store retention benchmark: how the single node's SQLite store grows while mail is
# relayed and what is left of it once the delivered mail has passed retention.
#   smtp-source -> ActorGateway (durable SQLite queue) -> smtp-sink
# Reports the store at three points:
#   (a) before: node started, nothing sent;
#   (b) delivered: every message counted by the sink, then a settle period (at least 2 sweep
#       intervals, then until the journal's row count stops falling; at most SETTLE_MAX s);
#   (c) after retention: delivery records kept RETAIN s, a retention pass every RETAIN_EVERY s;
#       measured once delivery_records is empty and the journal's row count has stopped falling,
#       no earlier than RETAIN + RETAIN_EVERY + 5 s after the last delivery and no later than
#       RETAIN + 2 x RETAIN_EVERY + 10 s after it.
# Each report: the store's size on disk (database + -wal + -shm); rows of journal, and of tags
# by tag (queued, attempted, done: done = the message's final attempt is journaled); bytes of the
# serialized events in journal.message (the message bodies are inside them); rows of
# delivery_records (0 while the table does not exist); the snapshots (the queue sweeper's
# checkpoint holds the pending set); the database's free pages (space SQLite reuses but does not
# give back to the file system); and the sink's count. A warning follows when messages are not
# done in the journal, or the sink got more than were sent.
# The store is read with sqlite3 in read-only mode, so the running node's writes never wait
# on this script.
#   usage: [SETTLE_MAX=120] [STALL=60] tests/bench/retention.sh [MESSAGES=100000] [SIZE=10000] [SESSIONS=20]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
MESSAGES=${1:-100000}; SIZE=${2:-10000}; SESSIONS=${3:-20}
SETTLE_MAX=${SETTLE_MAX:-120}  # longest settle period after the last delivery (b), seconds
STALL=${STALL:-60}             # fail when the sink's count has not moved for this long, seconds
SWEEP=2; RETAIN=30; RETAIN_EVERY=10  # gateway.queue.sweep-interval, gateway.retention.{delivery-records, interval}, seconds
COMMAND="tests/bench/retention.sh $MESSAGES $SIZE $SESSIONS"
[ "${SETTLE_MAX}" = 120 ] || COMMAND="SETTLE_MAX=$SETTLE_MAX $COMMAND"
[ "${STALL}" = 60 ] || COMMAND="STALL=$STALL $COMMAND"
for n in "$MESSAGES" "$SIZE" "$SESSIONS" "$SETTLE_MAX" "$STALL"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "usage: tests/bench/retention.sh [MESSAGES] [SIZE] [SESSIONS] (positive integers)" >&2; exit 2; }
done
export PATH=$PATH:/usr/sbin:/usr/lib/postfix/sbin
for p in smtp-source smtp-sink dnsmasq; do command -v $p >/dev/null || { echo "$p missing: run tests/run-all.sh once (it installs the packages)" >&2; exit 1; }; done
if ! command -v sqlite3 >/dev/null; then
  echo "installing sqlite3..." >&2
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends sqlite3 >/dev/null
fi

T_START=$(date +%s)
. "$ROOT/tests/bench/lib.sh"

# DNS for the gateway's sender-domain check.
start_sender_dns

# The counting sink the gateway delivers to; its counter goes to $WORK/sink.out.
SINK_PORT=$(free_port)
smtp-sink -u nobody -c 127.0.0.1:"$SINK_PORT" 1000 > "$WORK/sink.out" 2>/dev/null &
PIDS+=($!); wait_port "$SINK_PORT"
sink_count() { local n; n=$({ tr '\r' '\n' < "$WORK/sink.out" | grep -o 'mesg=[0-9]*' || true; } | tail -1 | cut -d= -f2); echo "${n:-0}"; }
# smtp-source's counter (DATA commands completed, i.e. messages the gateway accepted)
source_count() { local n; n=$(tr '\r' '\n' < "$WORK/source.out" 2>/dev/null | grep -o '^[0-9]*' | grep . | tail -1); echo "${n:-0}"; }

SMTP_PORT=$(free_port); DATA=$WORK/data; DB=$DATA/gateway.db
cat > "$WORK/retention.conf" <<EOF
gateway {
  data-dir = "$DATA"
  operations.port = 0
  smtp { server-name = "gw.bench", max-connections-per-client = 1000, endpoints = [ { name = smtp, address = "127.0.0.1", port = $SMTP_PORT } ] }
  dns.servers = ["127.0.0.1:$DNS_PORT"]
  delivery.routes { "rcpt.example" = "127.0.0.1:$SINK_PORT" }
  tenants.local.domains = ["sender.example"]
  queue.sweep-interval = ${SWEEP}s
  retention { delivery-records = ${RETAIN}s, interval = ${RETAIN_EVERY}s }
}
EOF
start_node "$WORK/retention.conf" "$SMTP_PORT"
[ -f "$DB" ] || fail "no database at the data directory's gateway.db"

# sql QUERY -> the result, read-only (no write lock on the node's database)
sql() { sqlite3 -readonly -batch -noheader -separator ' ' -cmd '.timeout 10000' "$DB" "$1"; }
# has_table NAME: the table exists (the journal's tables appear with the first write, the
# delivery records' table only in code that keeps them)
has_table() { [ "$(sql "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '$1'")" = 1 ]; }
# count SQL_EXPRESSION TABLE -> the expression as a subquery, or 0 while the table does not exist
count() { if has_table "$2"; then echo "($1)"; else echo 0; fi; }
journal_rows() { sql "SELECT $(count "SELECT COUNT(*) FROM journal" journal)"; }
record_rows() { sql "SELECT $(count "SELECT COUNT(*) FROM delivery_records" delivery_records)"; }
file_size() { stat -c %s "$1" 2>/dev/null || echo 0; }
mib() { python3 -c "print(f'{$1/1048576:.1f}')"; }

# report LABEL -> prints the store's figures; leaves them in R_SIZE, R_BODIES
report() {
  local db wal shm out journal tags queued attempted done bodies records snapshots snapshot_bytes free page
  db=$(file_size "$DB"); wal=$(file_size "$DB-wal"); shm=$(file_size "$DB-shm")
  R_SIZE=$((db + wal + shm))
  # One read transaction, so the figures belong to the same moment.
  out=$(sql "BEGIN; SELECT $(count "SELECT COUNT(*) FROM journal" journal), $(count "SELECT COUNT(*) FROM tags" tags),
    $(count "SELECT COUNT(*) FROM tags WHERE tag = 'queued'" tags), $(count "SELECT COUNT(*) FROM tags WHERE tag = 'attempted'" tags),
    $(count "SELECT COUNT(*) FROM tags WHERE tag = 'done'" tags),
    $(count "SELECT COALESCE(SUM(LENGTH(message)), 0) FROM journal" journal), $(count "SELECT COUNT(*) FROM delivery_records" delivery_records),
    $(count "SELECT COUNT(*) FROM snapshot" snapshot), $(count "SELECT COALESCE(SUM(LENGTH(snapshot)), 0) FROM snapshot" snapshot),
    (SELECT freelist_count FROM pragma_freelist_count()), (SELECT page_size FROM pragma_page_size()); COMMIT;")
  read -r journal tags queued attempted done bodies records snapshots snapshot_bytes free page <<< "$out"
  has_table journal || journal="0 (no table yet)"
  has_table delivery_records || records="0 (no such table)"
  R_BODIES=$bodies; R_QUEUED=$queued; R_DONE=$done; R_SINK=$(sink_count)
  echo "== $1"
  echo "  store on disk        $R_SIZE bytes ($(mib "$R_SIZE") MiB): database $db + wal $wal + shm $shm"
  echo "  journal rows         $journal"
  echo "  tags rows            $tags (queued $queued, attempted $attempted, done $done)"
  echo "  journal.message      $bodies bytes ($(mib "$bodies") MiB)"
  echo "  delivery_records     $records"
  echo "  snapshot             $snapshots rows, $snapshot_bytes bytes"
  echo "  free pages           $free x $page bytes ($(mib $((free * page))) MiB reusable inside the database)"
  echo "  at the sink          $R_SINK messages"
}
# check_done -> a warning when the journal has messages without their final attempt, or the sink
# got more messages than were sent (an attempt that timed out while its request still waited
# for the destination, delivered anyway, then retried)
check_done() {
  [ "$R_DONE" -lt "$R_QUEUED" ] && echo "  warning: $((R_QUEUED - R_DONE)) of $R_QUEUED queued messages are not done in the journal"
  [ "$R_SINK" -gt "$MESSAGES" ] && echo "  warning: the sink received $((R_SINK - MESSAGES)) messages more than were sent (duplicate deliveries)"
  return 0
}

SOURCE_CMD="smtp-source -c -s $SESSIONS -m $MESSAGES -l $SIZE -f bench@sender.example -t rcpt@rcpt.example 127.0.0.1:$SMTP_PORT"
echo "command: $COMMAND"
echo "code: $REVISION; $MESSAGES messages of $SIZE bytes in $SESSIONS sessions; sweep ${SWEEP}s, retention ${RETAIN}s every ${RETAIN_EVERY}s"
echo "load: $SOURCE_CMD"
echo
report "(a) before: node started, nothing sent"
SIZE_A=$R_SIZE

# Relay. A line every 10 s; fail when the sink stalls or the whole load takes too long.
LOAD_MAX=$((600 + MESSAGES / 10))
T0=$(now)
timeout "$LOAD_MAX" $SOURCE_CMD > "$WORK/source.out" 2> "$WORK/source.err" &
SOURCE_PID=$!; PIDS+=($SOURCE_PID); SOURCE_RC=""
last=0; last_move=$T0; next_line=$((T0 + 10))
while :; do
  n=$(sink_count); t=$(now)
  if [ -z "$SOURCE_RC" ] && ! kill -0 "$SOURCE_PID" 2>/dev/null; then
    SOURCE_RC=0; wait "$SOURCE_PID" || SOURCE_RC=$?
    [ "$SOURCE_RC" = 0 ] || { cat "$WORK/source.err" >&2; fail "smtp-source exited with status $SOURCE_RC after $(source_count) messages"; }
    echo "  $((t - T0)) s: smtp-source done, $(source_count) accepted" >&2
  fi
  [ "$n" -ge "$MESSAGES" ] && break
  [ "$n" -gt "$last" ] && { last=$n; last_move=$t; }
  [ $((t - last_move)) -ge "$STALL" ] && fail "delivery stalled: the sink's count stayed at $n of $MESSAGES for $STALL s"
  [ $((t - T0)) -ge "$LOAD_MAX" ] && fail "only $n of $MESSAGES messages reached the sink in $LOAD_MAX s"
  if [ "$t" -ge "$next_line" ]; then
    echo "  $((t - T0)) s: accepted $(source_count), delivered $n of $MESSAGES" >&2
    next_line=$((t + 10))
  fi
  sleep 0.5
done
T_LAST=$(now)
echo "  $((T_LAST - T0)) s: all $MESSAGES messages at the sink ($((MESSAGES / (T_LAST - T0 > 0 ? T_LAST - T0 : 1))) msg/s end to end)" >&2
# the sink may have counted the last messages before smtp-source has read its last replies
[ -z "$SOURCE_RC" ] && { SOURCE_RC=0; timeout 60 tail --pid="$SOURCE_PID" -f /dev/null || true; wait "$SOURCE_PID" || SOURCE_RC=$?; }
[ "$SOURCE_RC" = 0 ] || fail "smtp-source exited with status $SOURCE_RC"

# (b) Settle: at least 2 sweep intervals, then until the journal's row count stops falling.
prev=$(journal_rows)
while :; do
  sleep "$SWEEP"
  rows=$(journal_rows); t=$(now)
  [ $((t - T_LAST)) -ge $((2 * SWEEP)) ] && [ "$rows" -ge "$prev" ] && break
  [ $((t - T_LAST)) -ge "$SETTLE_MAX" ] && { echo "  journal rows still falling after $SETTLE_MAX s" >&2; break; }
  prev=$rows
done
echo
report "(b) delivered: all $MESSAGES at the sink, settled $(( $(now) - T_LAST )) s"
check_done
BODIES_B=$R_BODIES

# (c) After a retention pass: delivery_records empty and the journal no longer shrinking.
EARLIEST=$((T_LAST + RETAIN + RETAIN_EVERY + 5)); LATEST=$((T_LAST + RETAIN + 2 * RETAIN_EVERY + 10))
echo "  waiting $((EARLIEST - $(now)))-$((LATEST - $(now))) s for a retention pass..." >&2
prev=$(journal_rows)
while :; do
  sleep 2
  rows=$(journal_rows); records=$(record_rows); t=$(now)
  [ "$t" -ge "$EARLIEST" ] && [ "$records" = 0 ] && [ "$rows" -ge "$prev" ] && break
  if [ "$t" -ge "$LATEST" ]; then
    echo "  not settled $((t - T_LAST)) s after the last delivery: delivery_records $records, journal rows $prev -> $rows" >&2
    break
  fi
  prev=$rows
done
echo
report "(c) after retention: $(( $(now) - T_LAST )) s after the last delivery"
check_done
BODIES_C=$R_BODIES; SIZE_C=$R_SIZE

echo
echo "== summary ($MESSAGES messages of $SIZE bytes, code $REVISION)"
echo "  journal.message (the message bodies are inside): $BODIES_B bytes ($(mib "$BODIES_B") MiB) delivered (b), $BODIES_C bytes ($(mib "$BODIES_C") MiB) after retention (c)"
python3 -c "print(f'  store size (c) / (a): $SIZE_C / $SIZE_A bytes = {$SIZE_C/$SIZE_A:.1f}x ($(mib "$SIZE_C") MiB vs $(mib "$SIZE_A") MiB;'
               f' {($SIZE_C-$SIZE_A)/$MESSAGES:.0f} bytes more per message relayed)')"
echo "  done in the journal (c): $R_DONE of $R_QUEUED messages; at the sink: $R_SINK of $MESSAGES sent"
echo "  took $(( $(now) - T_START )) s in all (relay $((T_LAST - T0)) s)"
echo "  command: $COMMAND"
