#!/bin/bash
# Captures every example of docs/api.md from running `patchdeck serve`s.
set -u
# Usage: scripts/apidoc/capture.sh && python3 scripts/apidoc/assemble.py > docs/api.md
# Needs curl, jq and a debug build (cargo build). Scratch files go to $APIDOC_WORK.
here=$(cd "$(dirname "$0")" && pwd)
export APIDOC_WORK=${APIDOC_WORK:-/tmp/patchdeck-apidoc}
mkdir -p "$APIDOC_WORK"
# ex_410.md cannot come from serve (it never compacts); it was captured from a test server.
cp "$here/tokens.toml" "$here/pretty.py" "$here/ex_410.md" "$APIDOC_WORK/"
chmod 600 "$APIDOC_WORK/tokens.toml"
cd "$APIDOC_WORK"
BIN="$here/../../target/debug/patchdeck"
source "$here/show.sh"
V="Authorization: Bearer vera-example-token-0001"
pids=()
start() { # port args...
  local port=$1; shift
  $BIN serve --tokens tokens.toml --listen 127.0.0.1:$port "$@" > serve-$port.log 2>&1 &
  pids+=($!)
  for i in $(seq 50); do (echo > /dev/tcp/127.0.0.1/$port) 2>/dev/null && return; sleep 0.1; done
}
wait_for() { # url jq-filter
  for i in $(seq 300); do
    [ "$(curl -s -H "$V" "$1" | jq -r "$2")" = "true" ] && return 0; sleep 0.2
  done; echo "timeout waiting for $1 $2" >&2; return 1
}
trap 'kill ${pids[@]} 2>/dev/null' EXIT

# Frozen fleet: reads and simple actions.
start 7070 --hosts 200 --seed 1 --speed 0
BASE=http://127.0.0.1:7070
{
echo "## me"; show alice GET /v1/me
echo "## summary"; show vera GET /v1/summary
echo "## rings"; show -n 1 vera GET "/v1/rings?limit=2"
C=$(curl -s -H "$V" "$BASE/v1/rings?limit=2" | jq -r .next_cursor)
echo "## rings-next"; show -n 1 vera GET "/v1/rings?limit=2&cursor=$C"
echo "## ring"; show vera GET /v1/rings/pilot
echo "## ring304"; show vera GET /v1/rings/pilot -H 'If-None-Match: "1"'
echo "## deployments"; show -n 1 vera GET "/v1/deployments"
echo "## deployment"; show vera GET /v1/deployments/dep-0002
echo "## hosts"; show -n 1 vera GET "/v1/hosts?ring=pilot&limit=2"
echo "## host"; show vera GET /v1/hosts/h-000003
echo "## patches"; show -n 1 vera GET "/v1/patches"
} > ex_get.md
{
echo "## pause"; show oscar POST /v1/rings/pilot/pause -H 'If-Match: "1"' -H 'Idempotency-Key: 5f0c1e7a-pause-pilot' -H 'Content-Type: application/json' -d '{"reason": "helpdesk reports VPN drops on pilot laptops"}'
echo "## pause-replay"; show oscar POST /v1/rings/pilot/pause -H 'If-Match: "1"' -H 'Idempotency-Key: 5f0c1e7a-pause-pilot' -H 'Content-Type: application/json' -d '{"reason": "helpdesk reports VPN drops on pilot laptops"}'
echo "## pause-reused"; show oscar POST /v1/rings/pilot/pause -H 'If-Match: "1"' -H 'Idempotency-Key: 5f0c1e7a-pause-pilot' -H 'Content-Type: application/json' -d '{"reason": "another reason"}'
echo "## resume-stale"; show oscar POST /v1/rings/pilot/resume -H 'If-Match: "1"'
echo "## resume"; show oscar POST /v1/rings/pilot/resume -H 'If-Match: "2"'
echo "## dep-pause"; show oscar POST /v1/deployments/dep-0002/pause -H 'Content-Type: application/json' -d '{"reason": "change freeze until 06:00", "ticket": "CHG-41902"}'
echo "## dep-resume"; show oscar POST /v1/deployments/dep-0002/resume
echo "## halt-missing"; show alice POST /v1/deployments/dep-0002/halt -H 'Content-Type: application/json' -d '{"reason": "BSOD on pilot"}'
echo "## forbidden"; show vera POST /v1/deployments/dep-0002/halt -H 'Content-Type: application/json' -d '{"reason": "BSOD on pilot", "ticket": "INC-1"}'
echo "## unauth"; show none GET /v1/summary
echo "## badtoken"; curl -si -H "Authorization: Bearer wrong" $BASE/v1/summary | tr -d '\r' | grep -viE '^(date|content-length)'
echo; echo "## notfound"; show vera GET /v1/rings/wave-9
echo "## badcursor"; show vera GET "/v1/hosts?cursor=abc"
echo "## conflict"; show oscar POST /v1/rings/test/resume
echo "## actions"; show -n 1 vera GET "/v1/actions"
} > ex_act.md
{ echo '```console'; echo '$ curl -siN -H "Authorization: Bearer $VERA" "http://127.0.0.1:7070/v1/events?since=6"'
  curl -siN --max-time 1 -H "$V" "$BASE/v1/events?since=6" | tr -d '\r' | grep -vi "^date:"; echo '```'; } > ex_sse.md
{ echo '```console'; echo '$ curl -siN -H "Authorization: Bearer $VERA" -H "Last-Event-ID: 7" "http://127.0.0.1:7070/v1/events"'
  curl -siN --max-time 1 -H "$V" -H "Last-Event-ID: 7" "$BASE/v1/events" | tr -d '\r' | grep -vi "^date:"; echo '```'; } > ex_sse2.md
show vera GET "/v1/events?since=5000" > ex_410.md

# A running fleet: the two-person rule, exclude, host rollback, halt, ring rollback, decline.
start 7073 --hosts 200 --seed 1 --speed 3600
BASE=http://127.0.0.1:7073
wait_for $BASE/v1/deployments/dep-0002 '.state == "awaiting-approval" and .next_ring == "wave-1"'
{
echo "## approve1"; show alice POST /v1/deployments/dep-0002/approve -H 'Idempotency-Key: 9b1d-approve-wave1-alice' -H 'Content-Type: application/json' -d '{"reason": "pilot soaked 3 days, 0 failures", "ticket": "CHG-41910"}'
echo "## dep-pending"; curl -s -H "$V" $BASE/v1/deployments/dep-0002 | jq -c '{state, next_ring, pending_approval}'
echo "## approve-again"; show alice POST /v1/deployments/dep-0002/approve -H 'Content-Type: application/json' -d '{"reason": "again", "ticket": "CHG-41910"}'
echo "## approve2"; show bob POST /v1/deployments/dep-0002/approve -H 'Idempotency-Key: 0c77-approve-wave1-bob' -H 'Content-Type: application/json' -d '{"reason": "agree, dashboards clean", "ticket": "CHG-41910"}'
echo "## dep-after"; curl -s -H "$V" $BASE/v1/deployments/dep-0002 | jq -c '{state, current_ring, approvals, pending_approval}'
} > ex_approve.md
wait_for "$BASE/v1/hosts?ring=wave-1&state=succeeded&limit=1" '.items | length == 1'
H=$(curl -s -H "$V" "$BASE/v1/hosts?ring=wave-1&state=succeeded&limit=1" | jq -r '.items[0].id')
{
echo "## exclude"; show oscar POST /v1/hosts/h-000081/exclude -H 'Content-Type: application/json' -d '{"reason": "lab instrument PC, vendor certifies 2026-10 only", "ticket": "EXC-2231"}'
echo "## host-rollback"; show oscar POST /v1/hosts/$H/rollback -H 'Content-Type: application/json' -d '{"reason": "Outlook crashes after KB5032201", "ticket": "INC-88412"}'
echo "## halt"; show alice POST /v1/deployments/dep-0002/halt -H 'Content-Type: application/json' -d '{"reason": "Outlook crash reports from wave 1", "ticket": "INC-88412"}'
echo "## ring-rollback"; show alice POST /v1/rings/wave-1/rollback -H 'Content-Type: application/json' -d '{"reason": "Outlook crash reports from wave 1", "ticket": "INC-88412"}'
} > ex_more.md
start 7078 --hosts 200 --seed 1 --speed 3600
BASE=http://127.0.0.1:7078
wait_for $BASE/v1/deployments/dep-0002 '.state == "awaiting-approval"'
{ echo "## decline"; show bob POST /v1/deployments/dep-0002/decline -H 'Content-Type: application/json' -d '{"reason": "quarter-end freeze on payments, next window", "ticket": "CHG-41933"}'; } > ex_decline.md

# A bad patch: failed hosts, retry, deployment rollback.
start 7074 --hosts 400 --seed 1 --speed 3600 --scenario bad-patch
BASE=http://127.0.0.1:7074
wait_for "$BASE/v1/hosts?state=failed&limit=1" '.items | length == 1'
F=$(curl -s -H "$V" "$BASE/v1/hosts?state=failed&limit=1" | jq -r '.items[0].id')
{
echo "## failed-filter"; show -n 1 vera GET "/v1/hosts?state=failed&error=0x800f0922&limit=1"
echo "## retry"; show oscar POST /v1/hosts/$F/retry -H 'Content-Type: application/json' -d '{"reason": "freed disk space on the system partition"}'
echo "## dep-rollback"; show alice POST /v1/deployments/dep-0002/rollback -H 'Content-Type: application/json' -d '{"reason": "0x800f0922 on Contoso Book 14 G3 across pilot", "ticket": "INC-88420"}'
} > ex_retry.md

# A zero-day: emergency.
start 7075 --hosts 200 --seed 1 --speed 0 --scenario zero-day
BASE=http://127.0.0.1:7075
{
echo "## emergency"; show alice POST /v1/emergency -H 'Idempotency-Key: e1a0-zero-day-41234' -H 'Content-Type: application/json' -d '{"cve": "CVE-2026-41234", "reason": "CVE-2026-41234 exploited in the wild (CISA KEV)", "ticket": "SEC-7741"}'
echo "## summary-emergency"; curl -s -H "$V" "$BASE/v1/summary" | jq -c .emergency
} > ex_emergency.md

# Faults.
start 7077 --hosts 50 --speed 0 --fault-throttle-first 1 --fault-retry-after 2
start 7076 --hosts 50 --speed 0 --fault-throttle-first 1 --fault-retry-after 2 --fault-unavailable
{ BASE=http://127.0.0.1:7077 show vera GET /v1/me; BASE=http://127.0.0.1:7076 show vera GET /v1/me; } > ex_429.md
echo captured
