# Shared by the benchmark scripts that start one gateway node: sourced after they have set
# ROOT (the repository) and checked their arguments.
#   Sets WORK (a scratch directory, removed at exit), PIDS (processes to stop at exit), NODE_PID
#   (the node, stopped with SIGTERM and after 10 s SIGKILL), NODE_DLL and REVISION (the commit,
#   "+ uncommitted changes" when src or hocon differ from it), after building the node (Release).
#   Gives free_port, wait_port PORT, now (seconds), fail MESSAGE (with the node log's last
#   FAIL_LOG_LINES lines, default 20).

WORK=$(mktemp -d); chmod 755 "$WORK"; PIDS=(); NODE_PID=""
cleanup() {
  if [ -n "$NODE_PID" ]; then
    kill "$NODE_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$NODE_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$NODE_PID" 2>/dev/null || true
  fi
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5; rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 400); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not listening" >&2; return 1; }
now() { date +%s; }
fail() {
  echo "FAILED: $*" >&2
  [ -f "$WORK/node.log" ] && { echo "--- last lines of the node's log:" >&2; tail -"${FAIL_LOG_LINES:-20}" "$WORK/node.log" >&2; }
  exit 1
}

echo "building the gateway (Release)..." >&2
build=$(timeout 900 dotnet build -c Release -v q --nologo "$ROOT/src/ActorGateway.Node" 2>&1) || { echo "$build" >&2; fail "build"; }
NODE_DLL=$ROOT/src/ActorGateway.Node/bin/Release/net10.0/ActorGateway.Node.dll
# As the shipped service files and image start the node (see deploy/): a fixed budget for new objects.
export DOTNET_GCgen0size=${DOTNET_GCgen0size:-0x800000}
REVISION=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$ROOT" status --porcelain -- src hocon 2>/dev/null)" ]; then REVISION="$REVISION + uncommitted changes"; fi

# start_sender_dns -> DNS_PORT: dnsmasq for the gateway's sender-domain check (sender.example has an MX).
# Its answers carry a TTL of DNS_TTL seconds (default 300) as real domains' records do; with 0
# the gateway's resolver cannot cache them and asks once per message.
start_sender_dns() {
  DNS_PORT=$(free_port)
  dnsmasq --keep-in-foreground --port="$DNS_PORT" --listen-address=127.0.0.1 --bind-interfaces --no-resolv --no-hosts \
    --mx-host=sender.example,mail.sender.example,10 --host-record=mail.sender.example,127.0.0.1 --address=/#/ --user=root \
    --local-ttl="${DNS_TTL:-300}" \
    --pid-file="$WORK/dnsmasq.pid" 2>/dev/null &
  PIDS+=($!)
}

# start_node CONFIG SMTP_PORT -> NODE_PID: the node, its log in $WORK/node.log; fails unless it is
# a ready cluster member within 60 s and listens for SMTP.
start_node() {
  setsid dotnet "$NODE_DLL" --config "$1" > "$WORK/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 600); do
    grep -q ' ready: cluster member up' "$WORK/node.log" && break
    kill -0 "$NODE_PID" 2>/dev/null || fail "the node exited during start"
    sleep 0.1
  done
  grep -q ' ready: cluster member up' "$WORK/node.log" || fail "the node was not ready after 60 s"
  wait_port "$2" || fail "the node's SMTP port is not listening"
}
