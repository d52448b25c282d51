#!/usr/bin/env bash
# Seed 000 §9.1-§9.4, the curl commands, against a running gateway (with `solvermesh run solver`
# behind it). Where the seed contradicts itself, its own request is sent first and must get the
# 4xx that names the field, then the corrected request must succeed:
#   §9.1 declares a 1000x1000 matrix but sends 3x3 data, and names its CSR arrays row_indices /
#        col_pointers (CSC's names; row_indices holds each entry's row, col_pointers the row
#        pointers). Corrected: rows/cols 3, row_pointers [0,2,5,7], col_indices of the same
#        tridiagonal matrix.
#   §9.2 updates b[100] and b[205] of "uuid-session-123": the session is the one §9.1 opened,
#        which has 3 unknowns, so the indices become 0 and 2.
#   §9.3, §9.4 name "uuid-session-123": the session §9.1 opened.
# Usage: seed-curls.sh GATEWAY_URL TOKEN  (or GATEWAY_URL and TOKEN in the environment); the
# token needs the scopes open, costs and read. Exit 0 and "seed curls OK" when every answer is
# the expected one; otherwise "FAIL: <step>: <what>" on stderr and exit 1 (2: bad usage).
set -euo pipefail
URL=${1:-${GATEWAY_URL:-}}
TOKEN=${2:-${TOKEN:-}}
if [ -z "$URL" ] || [ -z "$TOKEN" ]; then echo "usage: $0 GATEWAY_URL TOKEN (or set GATEWAY_URL and TOKEN)" >&2; exit 2; fi
for tool in curl jq; do
  command -v "$tool" >/dev/null || { echo "seed-curls: $tool is not installed (make deps installs it)" >&2; exit 2; }
done
URL=${URL%/}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

# call WANT STEP curl-args...: one request; prints its status and body, fails unless the status is WANT.
call() {
  local want=$1 step=$2 code
  shift 2
  code=$(curl -sS --max-time 30 -o "$work/body" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$@") \
    || fail "$step: curl failed (is the gateway at $URL up?)"
  echo "HTTP $code"
  jq . "$work/body" 2>/dev/null || cat "$work/body"
  [ "$code" = "$want" ] || fail "$step: expected HTTP $want, got $code: $(head -c 400 "$work/body")"
}

# expect STEP JQ-FILTER WHAT: the last body satisfies the filter.
expect() {
  jq -e "$2" "$work/body" >/dev/null || fail "$1: $3; got $(head -c 400 "$work/body")"
}

echo "== §9.1 as the seed writes it: 1000x1000 declared, 3x3 sent, CSC array names under \"csr\""
call 400 "§9.1 (seed)" -X POST "$URL/api/v1/solve-stream" \
  -H "Content-Type: application/json" \
  -d '{
"matrix": {
"rows": 1000,
"cols": 1000,
"data": {
"values": [2, -1, -1, 2, -1, -1, 2],
"row_indices": [0, 0, 1, 1, 1, 2, 2],
"col_pointers": [0, 2, 5, 7]
},
"format": "csr"
},
"vector": [1, 2, 3],
"method": "hybrid",
"options": {
"tolerance": 1e-8,
"swarm_enabled": true
}
}'
expect "§9.1 (seed)" '.code == "BAD_REQUEST" and (.message | test("^matrix\\.data\\.row_indices does not belong to format csr"))' "the 400 must name the field matrix.data.row_indices"

echo
echo "== §9.1 corrected: 3x3 CSR, streamed as NDJSON to convergence"
status=0
curl -sS --max-time 120 -D "$work/headers" -X POST "$URL/api/v1/solve-stream" \
  -H "Content-Type: application/json" \
  -H "Authorization: Bearer $TOKEN" \
  -d '{
"matrix": {
"rows": 3,
"cols": 3,
"data": {
"values": [2, -1, -1, 2, -1, -1, 2],
"col_indices": [0, 1, 0, 1, 2, 1, 2],
"row_pointers": [0, 2, 5, 7]
},
"format": "csr"
},
"vector": [1, 2, 3],
"method": "hybrid",
"options": {
"tolerance": 1e-8,
"swarm_enabled": true
}
}' \
  --no-buffer | while read -r line; do
  echo "$(date +%T.%3N): $line"
  printf '%s\n' "$line" >>"$work/stream"
done || status=$?
[ "$status" = 0 ] || fail "§9.1: the stream broke (curl or read exit $status)"
code=$(awk 'NR == 1 { print $2 }' "$work/headers")
[ "$code" = 200 ] || fail "§9.1: expected HTTP 200, got ${code:-nothing}: $(head -c 400 "$work/stream" 2>/dev/null)"
cp "$work/stream" "$work/body"
SESSION=$(jq -r 'select(.type == "session_accepted") | .session_id' "$work/stream" | head -1)
[ -n "$SESSION" ] || fail "§9.1: the stream has no session_accepted line"
jq -se '[.[] | select(.type == "IterationCompleted")] | length > 0' "$work/stream" >/dev/null || fail "§9.1: no IterationCompleted streamed"
jq -se '.[-1].type == "stream_closed" and .[-1].reason == "ConvergenceReached"' "$work/stream" >/dev/null \
  || fail "§9.1: the stream did not end at convergence; last line: $(tail -1 "$work/stream")"
echo "session $SESSION converged"

echo
echo "== §9.2 as the seed writes it (on this session): b[100] and b[205] of a 3-unknown session"
call 400 "§9.2 (seed)" -X POST "$URL/api/v1/swarm/costs" \
  -H "Content-Type: application/json" \
  -d '{
"session_id": "'"$SESSION"'",
"delta_costs": {
"indices": [100, 205],
"values": [0.01, -0.003]
},
"source_node": "node-abc123"
}'
expect "§9.2 (seed)" '.message | test("^delta_costs\\.indices\\[0\\] is 100, outside 0\\.\\.2")' "the 400 must name delta_costs.indices[0]"

echo
echo "== §9.2 corrected: b[0] and b[2]"
call 200 "§9.2" -X POST "$URL/api/v1/swarm/costs" \
  -H "Content-Type: application/json" \
  -d '{
"session_id": "'"$SESSION"'",
"delta_costs": {
"indices": [0, 2],
"values": [0.01, -0.003]
},
"source_node": "node-abc123"
}'
expect "§9.2" '(.acks | length) == 1 and (.acks[0].offset | type) == "number" and .acks[0].session_id == "'"$SESSION"'"' "expected one ack with its log offset"

echo
echo "== §9.3: trigger a verification"
call 202 "§9.3" -X POST "$URL/api/v1/verify" \
  -H "Content-Type: application/json" \
  -d '{
"session_id": "'"$SESSION"'",
"probe_count": 20
}'
expect "§9.3" '.probe_count == 20 and (.verifier.running | type) == "boolean" and (.verifier.message | length) > 0' "expected the request's position and whether a verifier runs"

echo
echo "== §9.4: session status once the cost update is folded in"
for _ in $(seq 1 60); do
  call 200 "§9.4" -X GET "$URL/api/v1/status/$SESSION" >"$work/out"
  if jq -e '.updates_applied >= 1 and .state == "converged"' "$work/body" >/dev/null; then break; fi
  sleep 1
done
cat "$work/out"
expect "§9.4" '.session_id == "'"$SESSION"'" and .unknowns == 3 and .updates_applied >= 1 and .state == "converged"' "expected the session converged again with the update applied (waited 60 s)"

echo
echo "seed curls OK: session $SESSION"
