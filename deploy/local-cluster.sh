#!/usr/bin/env bash
# Starts the three-site cluster on this machine, for trying it locally:
#   eu-de-01 on 127.0.0.1, eu-de-02 on 127.0.0.2 (good gateways), eu-de-03 on 127.0.0.3
#   (bad gateway); each takes SMTP on port 2525 of its address and joins the others on 4053,
#   all sharing one PostgreSQL 15 started here on 127.0.0.1:55432 ($ACTORGATEWAY_LOCAL_PGPORT).
# Extra arguments are passed to every node, e.g. --config my-tenants.conf.
# Logs and data go to data/local-cluster/ (or $ACTORGATEWAY_LOCAL_DIR), each site's process id
# to eu-de-0N.pid there. Ctrl-C stops everything.
# A site that exits (killed to watch the failover, say) is reported and the others keep
# running; start it again from another terminal with:
#   deploy/local-cluster.sh start-site eu-de-02
# Needs the .NET SDK 10 and PostgreSQL 15 (Debian package postgresql).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${ACTORGATEWAY_LOCAL_DIR:-$root/data/local-cluster}"
pgbin=/usr/lib/postgresql/15/bin
pgport=${ACTORGATEWAY_LOCAL_PGPORT:-55432}
mkdir -p "$dir"
sites=(eu-de-01 eu-de-02 eu-de-03)

# start-site SITE: asks the running script to start a stopped site again.
if [ "${1:-}" = start-site ]; then
  site=${2:-}
  [[ " ${sites[*]} " == *" $site "* ]] || { echo "usage: $0 start-site eu-de-01|eu-de-02|eu-de-03" >&2; exit 2; }
  if [ -f "$dir/$site.pid" ] && kill -0 "$(cat "$dir/$site.pid")" 2>/dev/null; then echo "$site is running" >&2; exit 1; fi
  [ -f "$dir/supervisor.pid" ] && kill -0 "$(cat "$dir/supervisor.pid")" 2>/dev/null \
    || { echo "the cluster is not running: start it with $0" >&2; exit 1; }
  before=$(grep -c " ready: cluster member up" "$dir/$site.log" 2>/dev/null || true)
  touch "$dir/$site.start"
  for _ in $(seq 1 120); do
    [ -f "$dir/$site.start" ] || break; sleep 0.5
  done
  for _ in $(seq 1 120); do
    if [ -f "$dir/$site.pid" ] && kill -0 "$(cat "$dir/$site.pid")" 2>/dev/null \
       && [ "$(grep -c " ready: cluster member up" "$dir/$site.log" 2>/dev/null || true)" -gt "${before:-0}" ]; then
      echo "$site is up again"; exit 0
    fi
    sleep 0.5
  done
  echo "$site did not come up; see $dir/$site.log" >&2; exit 1
fi

[ -x "$pgbin/initdb" ] || { echo "PostgreSQL 15 is missing: apt-get install postgresql" >&2; exit 1; }

# PostgreSQL refuses to run as root: run it as the postgres user then.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
if [ ! -d "$dir/pg" ]; then
  mkdir -p "$dir/pg"; [ "$(id -u)" = 0 ] && chown postgres "$dir/pg"
  echo "== initializing PostgreSQL in $dir/pg"
  as_pg "$pgbin/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 >/dev/null
fi
[ "$(id -u)" = 0 ] && chown -R postgres "$dir/pg"
echo "== starting PostgreSQL on 127.0.0.1:$pgport"
as_pg "$pgbin/pg_ctl" -D "$dir/pg" -l "$dir/pg/log" -w -o "-c listen_addresses=127.0.0.1 -p $pgport -k /tmp" start >/dev/null
export ACTORGATEWAY_DB="Host=127.0.0.1;Port=$pgport;Username=postgres;Database=postgres"
# The node's runtimeconfig caps the garbage collector's budget for new objects at 8 MiB (by
# default it follows the CPU's L3 cache size, hundreds of MiB on server CPUs, and the node's
# memory with it); this fixes it there, so that it does not shrink into more collections.
export DOTNET_GCgen0size=${DOTNET_GCgen0size:-0x800000}

echo "== building the node"
dotnet build -c Release -v q -nologo "$root/src/ActorGateway.Node" >/dev/null
node_dll="$root/src/ActorGateway.Node/bin/Release/net10.0/ActorGateway.Node.dll"

declare -A pid=()
echo $$ > "$dir/supervisor.pid"
stop() {
  echo; echo "== stopping the nodes and PostgreSQL"
  for p in "${pid[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pid[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -f "$dir"/*.pid "$dir"/*.start
  as_pg "$pgbin/pg_ctl" -D "$dir/pg" -m fast -w stop >/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

start_site() {
  local site=$1
  printf 'gateway.data-dir = "%s"\n' "$dir/$site" > "$dir/$site.conf"
  # A restarted site appends to its log, so that what happened before stays readable.
  (cd "$dir" && exec dotnet "$node_dll" --site "$site" --config "$dir/$site.conf" "${@:2}") >> "$dir/$site.log" 2>&1 &
  pid[$site]=$!
  echo "${pid[$site]}" > "$dir/$site.pid"
}
wait_ready() {
  local site=$1
  for _ in $(seq 1 120); do
    grep -q " ready: cluster member up" "$dir/$site.log" 2>/dev/null && { echo "   $site is up ($(grep -o 'akka.tcp://[^] ]*' "$dir/$site.log" | head -1))"; return; }
    sleep 0.5
  done
  echo "$site did not come up; see $dir/$site.log" >&2; exit 1
}

# The first site forms the cluster (and creates the tables), the others join it.
for site in "${sites[@]}"; do : > "$dir/$site.log"; done
echo "== starting eu-de-01"; start_site eu-de-01 "$@"; wait_ready eu-de-01
echo "== starting eu-de-02 and eu-de-03"; start_site eu-de-02 "$@"; start_site eu-de-03 "$@"
wait_ready eu-de-02; wait_ready eu-de-03
cat <<INFO
== the cluster is running; logs in $dir/eu-de-0N.log
   send mail to any node, e.g.
     swaks --server 127.0.0.2:2525 --from you@your-domain.example --to someone@example.net
   (your sender domain must be a tenant's: pass --config with gateway.tenants, see README)
   kill a site to watch the failover: kill \$(cat $dir/eu-de-02.pid)
   start it again: $0 start-site eu-de-02
   Ctrl-C stops everything.
INFO
# Watch the sites: report one that exits, start one that start-site asks for.
declare -A reported=()
while :; do
  for site in "${sites[@]}"; do
    if [ -z "${reported[$site]:-}" ] && ! kill -0 "${pid[$site]}" 2>/dev/null; then
      status=0; wait "${pid[$site]}" 2>/dev/null || status=$?
      echo "== $site exited (status $status); the other sites keep running. Start it again: $0 start-site $site"
      reported[$site]=1; rm -f "$dir/$site.pid"
    fi
    if [ -f "$dir/$site.start" ]; then
      rm -f "$dir/$site.start"
      if kill -0 "${pid[$site]}" 2>/dev/null; then echo "== $site is running"; continue; fi
      echo "== starting $site again"; echo "--- started again $(date -u +%FT%TZ)" >> "$dir/$site.log"
      start_site "$site" "$@"; unset "reported[$site]"
    fi
  done
  sleep 1
done
