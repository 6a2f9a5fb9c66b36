#!/usr/bin/env bash
# Runs every test project. First installs the real programs the tests start (Debian
# packages) when they are missing, then runs `dotnet test` per project and ends with one
# line: "N passed, N failed" summed over all projects. Exit status 0 only if all passed.
set -uo pipefail
cd "$(dirname "$0")/.."

# Program the tests need -> Debian package providing it.
declare -A NEEDS=(
  [/usr/bin/swaks]=swaks
  [/usr/share/perl5/Net/SSLeay.pm]=libnet-ssleay-perl
  [/usr/sbin/smtp-source]=postfix
  [/usr/sbin/smtp-sink]=postfix
  [/usr/sbin/dnsmasq]=dnsmasq-base
  [/usr/lib/python3/dist-packages/aiosmtpd/__init__.py]=python3-aiosmtpd
  [/usr/lib/postgresql/15/bin/initdb]=postgresql
  [/usr/sbin/clamd]=clamav-daemon
  [/usr/share/clamav-testfiles/clam.exe]=clamav-testfiles
  [/usr/lib/python3/dist-packages/dkim/__init__.py]=python3-dkim
  [/usr/lib/python3/dist-packages/nacl/__init__.py]=python3-nacl
  [/usr/bin/openssl]=openssl
  [/usr/bin/rspamd]=rspamd
  [/usr/sbin/opendkim-testkey]=opendkim-tools
  [/usr/bin/chromium]=chromium
)
missing=()
for f in "${!NEEDS[@]}"; do
  # libnet-ssleay-perl installs into an arch directory; check by package instead.
  if [ "${NEEDS[$f]}" = libnet-ssleay-perl ]; then dpkg -s libnet-ssleay-perl >/dev/null 2>&1 || missing+=(libnet-ssleay-perl); continue; fi
  [ -e "$f" ] || missing+=("${NEEDS[$f]}")
done
if [ ${#missing[@]} -gt 0 ]; then
  pkgs=$(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')
  echo "installing test dependencies: $pkgs"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  # Postfix asks how to configure itself; the tests only use its smtp-source/smtp-sink.
  echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs >/dev/null
fi

echo "building..."
dotnet build ActorGateway.sln -v q --nologo -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }

passed=0; failed=0; status=0
for proj in tests/*.Tests/*.csproj; do
  name=$(basename "$proj" .csproj)
  echo "== $name"
  log=$(mktemp)
  dotnet test "$proj" --no-build --nologo 2>&1 > "$log"
  grep -E '^\s*(Failed|Passed)!' "$log" || true
  # Each failed test with its message (stack frames left out).
  sed -n '/^\s*Failed [A-Za-z]/,/^\s*Stack Trace:/p' "$log" | grep -vE '^\s+at |Stack Trace:' || true
  summary=$(grep -E '(Passed|Failed)!\s+-\s+Failed:' "$log" | tail -1)
  if [ -z "$summary" ]; then
    echo "   no test summary from $name (the test host crashed?)"; tail -30 "$log"
    failed=$((failed + 1)); status=1
  else
    f=$(sed -E 's/.*Failed:\s+([0-9]+).*/\1/' <<<"$summary"); p=$(sed -E 's/.*Passed:\s+([0-9]+).*/\1/' <<<"$summary")
    passed=$((passed + p)); failed=$((failed + f))
    [ "$f" = 0 ] || status=1
  fi
  rm -f "$log"
done
echo "$passed passed, $failed failed"
exit $status
