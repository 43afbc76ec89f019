#!/bin/sh
# The README's five-minute CLI flow against three vault nodes on one PostgreSQL database, each
# step on another node (node 1, 2, 3 on 127.0.0.1:18081-18083, each addressed directly, so each
# its own public URL: every command signs in at the node it talks to). Behind a balancer the
# nodes share `--public-url` instead and clients use that URL (tests/it/multinode.rs).
# Starts a throw-away cluster with pg_virtualenv; exits non-zero on the first step that fails.
# Usage: bash scripts/three-nodes.sh (after `make build`).
set -eu
cd "$(dirname "$0")/.."
if [ -z "${PGHOST:-}" ]; then
  exec pg_virtualenv -t sh "$0" "$@"
fi
BIN=$PWD/target/debug/assent
WORK=$(mktemp -d)
URL="postgres://$PGUSER:$PGPASSWORD@$PGHOST:${PGPORT:-5432}/postgres"
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
for n in 1 2 3; do
  "$BIN" serve --demo --keys keys-example --web web --data "$WORK/node$n" \
    --listen "127.0.0.1:1808$n" --metrics-listen "" \
    --store "$URL" --addr-file "$WORK/addr$n" 2>"$WORK/node$n.log" &
  pids="$pids $!"
done
for n in 1 2 3; do
  i=0; until [ -s "$WORK/addr$n" ]; do i=$((i+1)); [ $i -lt 300 ] || { cat "$WORK/node$n.log"; exit 1; }; sleep 0.1; done
done
node() { echo "http://127.0.0.1:1808$1"; }
# The customer's profile names the node its next command goes to.
on() { python3 -c "import json,sys; p=json.load(open(sys.argv[1])); p['server']=sys.argv[2]; json.dump(p, open(sys.argv[1],'w'))" "$ASSENT_PROFILE" "$(node "$1")"; }
export ASSENT_PROFILE="$WORK/alice.json" ASSENT_PASSPHRASE="correct horse battery staple"
export ASSENT_LOG=warn
step() { echo "== node $1: $2"; }
step 1 "sign up";            "$BIN" customer signup --handle alice --server "$(node 1)" >/dev/null
on 2; step 2 "put email";    "$BIN" customer put --label email --text alice@example.com >/dev/null
on 3; step 3 "put address";  "$BIN" customer put --label postal_address --text "1 Main St" >/dev/null
step 1 "org requests";       ASSENT_SERVER=$(node 1) "$BIN" org request --customer alice --labels email,postal_address \
  --purposes dpv:IdentityVerification --duration 30d --justification "We must verify your identity" >"$WORK/req.json"
req=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['request_id'])" "$WORK/req.json")
fp=$("$BIN" org show --key keys-example/demo-org.key | python3 -c "import json,sys; print(json.load(sys.stdin)['fingerprint'])")
on 2; step 2 "customer approves $req"; "$BIN" customer approve "$req" --org-fingerprint "$fp" >"$WORK/grant.json"
cus=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['customer_id'])" "$ASSENT_PROFILE")
step 3 "org reads";          ASSENT_SERVER=$(node 3) "$BIN" org read --customer "$cus" --label email --purpose dpv:IdentityVerification | grep -q alice@example.com
step 1 "org reads for marketing (refused)"
if ASSENT_SERVER=$(node 1) "$BIN" org read --customer "$cus" --label email --purpose dpv:Marketing >/dev/null 2>&1; then echo "a read outside the grant succeeded"; exit 1; fi
grant=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['grant']['grant_id'])" "$WORK/grant.json")
on 3; step 3 "customer revokes $grant"; "$BIN" customer revoke "$grant" >/dev/null
step 1 "org reads after the revocation (refused)"
if ASSENT_SERVER=$(node 1) "$BIN" org read --customer "$cus" --label email --purpose dpv:IdentityVerification >/dev/null 2>&1; then echo "a revoked grant was read"; exit 1; fi
on 1; step 1 "customer ledger verify"; "$BIN" customer ledger verify >/dev/null
on 2; step 2 "customer ledger verify again"; "$BIN" customer ledger verify >/dev/null
step 3 "org monitor";        ASSENT_SERVER=$(node 3) "$BIN" org monitor >/dev/null
key=$(curl -s "$(node 2)/v1/ledger/key")
step 1 "ledger verify";      "$BIN" ledger verify --vault-key "$key" --server "$(node 1)" --state "$WORK/cp.txt" >/dev/null
step 3 "ledger verify";      "$BIN" ledger verify --vault-key "$key" --server "$(node 3)" --state "$WORK/cp.txt" >/dev/null
echo "== audit (nodes still serving)"; "$BIN" ledger audit --store "$URL" --data "$WORK/audit" --keys keys-example >/dev/null
echo "ok: the five-minute flow across three nodes"
