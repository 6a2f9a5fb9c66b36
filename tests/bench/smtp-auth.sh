#!/usr/bin/env bash
# SMTP AUTH cost: AUTH PLAIN logins per second, each over a fresh connection (python smtplib,
# CLIENTS processes in parallel), against a started node. Three configurations in one run:
# a 100,000-iteration hash without the cache of verified logins (how AUTH worked before),
# a 600,000-iteration hash with the cache (now), and 600,000 without the cache (what the cache saves).
# AUTH is allowed without TLS on the benchmark listener so that the password check is measured,
# not the TLS handshake.
#   usage: tests/bench/smtp-auth.sh [LOGINS] [CLIENTS]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
LOGINS=${1:-300}; CLIENTS=${2:-4}
WORK=$(mktemp -d); NODE_PID=""
cleanup() { [ -n "$NODE_PID" ] && kill "$NODE_PID" 2>/dev/null || true; sleep 0.3; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 400); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not listening" >&2; return 1; }

echo "building the gateway (Release)..." >&2
dotnet build -c Release -v q --nologo src/ActorGateway.Node >/dev/null
NODE_DLL=$ROOT/src/ActorGateway.Node/bin/Release/net10.0/ActorGateway.Node.dll
PASSWORD="bench-$RANDOM-secret"
# The node's own command makes new hashes (600,000 iterations); the older format is made here
# with the same PBKDF2 parameters, as an older release wrote it.
HASH_NEW=$(echo "$PASSWORD" | dotnet "$NODE_DLL" hash-password)
HASH_OLD=$(python3 -c 'import base64,hashlib,os,sys
salt=os.urandom(16); h=hashlib.pbkdf2_hmac("sha256", sys.argv[1].encode(), salt, 100000, 32)
print("pbkdf2-sha256$100000$%s$%s" % (base64.b64encode(salt).decode(), base64.b64encode(h).decode()))' "$PASSWORD")

cat > "$WORK/login.py" <<'PY'
import smtplib, sys, time
from multiprocessing import Pool
port, user, password, logins, clients = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def login(_):
    s = smtplib.SMTP("127.0.0.1", port, timeout=30)
    s.ehlo("bench.client")
    s.user, s.password = user, password
    s.auth("PLAIN", s.auth_plain)  # raises on anything but 235
    s.quit()
with Pool(clients) as pool:
    pool.map(login, range(2 * clients))  # warm-up: JIT, first check of the password
    start = time.monotonic()
    pool.map(login, range(logins), chunksize=1)
    print(round(logins / (time.monotonic() - start), 1))
PY

# run NAME HASH CACHE_SIZE LOGINS -> prints a table row
run() {
  local port dir; port=$(free_port); dir="$WORK/$1"; mkdir -p "$dir"
  cat > "$dir/bench.conf" <<EOF
gateway {
  data-dir = "$dir/data"
  operations.port = 0
  smtp {
    server-name = "gw.bench", max-connections-per-client = 1000
    endpoints = [ { name = smtp, address = "127.0.0.1", port = $port, allow-auth-without-tls = on } ]
    auth-cache.size = $3
  }
  tenants.bench {
    users { "bench" = "$2" }
    domains = ["sender.example"]
  }
}
EOF
  setsid dotnet "$NODE_DLL" --config "$dir/bench.conf" > "$dir/node.log" 2>&1 &
  NODE_PID=$!
  for _ in $(seq 1 600); do grep -q ' ready: cluster member up' "$dir/node.log" && break; sleep 0.1; done
  wait_port "$port" || { cat "$dir/node.log" >&2; exit 1; }
  local rate; rate=$(python3 "$WORK/login.py" "$port" bench "$PASSWORD" "$4" "$CLIENTS")
  kill "$NODE_PID"; wait "$NODE_PID" 2>/dev/null || true; NODE_PID=""
  echo "| $1 | $4 | $rate |"
}

echo "| configuration ($CLIENTS clients, a fresh connection per login) | logins | logins/s |"
echo "|---|---:|---:|"
run "100,000 iterations, no cache (before)" "$HASH_OLD" 0 "$((LOGINS / 3))"
run "600,000 iterations, cache (now)" "$HASH_NEW" 10000 "$LOGINS"
run "600,000 iterations, no cache" "$HASH_NEW" 0 "$((LOGINS / 10))"
