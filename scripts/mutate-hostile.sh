#!/bin/bash
# Removes each client-side check of the hostile-operator suite in turn, in a throw-away git
# worktree, and runs tests/it/hostile.rs: every mutation must make at least one test fail.
# Not part of CI (it rebuilds once per mutation); run it after changing a client check.
# Usage: scripts/mutate-hostile.sh   (prints "== name" and the failing tests per mutation)
set -u
root=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)
wt=$(mktemp -d)/assent-mutants
git -C "$root" worktree add -q --detach "$wt" HEAD
trap 'git -C "$root" worktree remove --force "$wt"' EXIT
cd "$wt"
export CARGO_TARGET_DIR="$root/target/mutants"
survivors=0
mut() { # name file python-replacement(old,new)
  name=$1; file=$2; old=$3; new=$4
  python3 - "$file" "$old" "$new" <<'PY'
import sys
p,old,new=sys.argv[1:4]
s=open(p).read()
assert old in s, f"mutation anchor not found in {p}: {old[:60]}"
s=s.replace(old,new,1)
open(p,'w').write(s)
PY
  res=$(timeout 900 cargo test --test it hostile:: 2>&1 | grep -E "^test .*FAILED|test result")
  git checkout -q -- "$file"
  echo "== $name"; echo "$res"
  if ! grep -q FAILED <<<"$res"; then survivors=$((survivors + 1)); echo "SURVIVED: $name"; fi
}
mut gap src/client/verify.rs "if seq != last + 1 {" "if false && seq != last + 1 {"
mut wentback src/client/verify.rs "if last < pinned {" "if false && last < pinned {"
mut beyond src/client/verify.rs "if e.index >= cp.size {" "if false && e.index >= cp.size {"
mut grant_sig src/client/customer.rs ".map_err(|_| refuse(\"your key did not sign it\"))?;" ".ok();"
mut grant_customer src/client/customer.rs "if g.terms.customer_id != self.customer_id {" "if false {"
mut grant_revoked src/client/customer.rs "if ledger.revoked(&g.terms.grant_id) {" "if false {"
mut org_described src/client/customer.rs "let described = (request.org.ed25519_public, request.org.x25519_public);" "let described: (Option<[u8; 32]>, Option<[u8; 32]>) = (None, None);"
mut fingerprint src/client/customer.rs "&& !fingerprint_matches(&current.identity_key, given)" "&& false"
mut first_contact src/client/customer.rs "            None if check.accept_unverified => Some(false),
            None => {" "            None => Some(false),
            #[allow(unreachable_patterns)]
            None => {"
mut key_change_pin src/client/customer.rs "if !check.accept_key_change {" "if false {"
mut change_sig src/client/verify.rs "verify_org_key_change(&prev.identity_key, &change, change_signature).map_err(" "verify_org_key_change(&prev.identity_key, &change, change_signature).or(Ok::<(), crate::crypto::CryptoError>(())).map_err("
mut monitor src/client/org.rs "if pair != mine && !known.contains(&pair) {" "if false {"
mut read_bind src/client/org.rs "if r.customer_id != customer || r.label != label || r.purpose != purpose {" "if false {"
mut receipt src/client/org.rs "verify_receipt(&self.trust.verifier.public, &receipt, &r.receipt.signature).map_err(" "verify_receipt(&self.trust.verifier.public, &receipt, &r.receipt.signature).or(Ok::<(), crate::ledger::LedgerError>(())).map_err("
mut fork src/client/verify.rs "        if cp.root != old.root {
            return Err(VerifyFailure::Fork { size: cp.size });" "        if false {
            return Err(VerifyFailure::Fork { size: cp.size });"
mut truncated src/client/verify.rs "    if cp.size < old.size {
        return Err(VerifyFailure::Truncated {" "    if false {
        return Err(VerifyFailure::Truncated {"
echo "$survivors mutation(s) survived"
exit $((survivors > 0))
