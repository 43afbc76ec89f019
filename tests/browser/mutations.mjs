// Removes each of the page's checks in turn, rebuilds, and runs the hostile test that covers it:
// every run must FAIL (the check is what makes the test pass). Not part of `make test` (it takes
// ~15 minutes). Run from the repository root with a clean web/ tree:
//   node tests/browser/mutations.mjs [name-prefix …]
// Each mutated file is restored with `git checkout` afterwards.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

const M = [
  ['a1 keys from request.org', 'web/src/device.js',
    '      org_identity_key: b64url(log.identityKey),\n      org_encryption_key: b64url(log.encryptionKey),',
    '      org_identity_key: request.org.ed25519_public,\n      org_encryption_key: request.org.x25519_public,',
    'substituted at approval in /v1/me/requests'],
  ['a2 no inclusion proof', 'web/src/ledger/verify.js',
    '  await verifyInclusion(BigInt(e.index), checkpoint.size, await leafHash(leaf), hashes(e.proof), checkpoint.root);',
    '  void leafHash; void verifyInclusion;', 'substituted in the key log too'],
  ['a3 anchor mismatch ignored', 'web/src/orgtrust.js', "  if (trust.anchor === 'mismatch') {", '  if (false) {', 'impostor'],
  ['b1 wrap to the key fetched now', 'web/src/device.js',
    '        const w = await wrapKey(orgEncryptionKey, wrapInfo(envelopeId, version, terms.org_id, terms.grant_id), key);',
    '        void orgEncryptionKey; const now = fromB64url((await this.api.get(`/v1/orgs/${terms.org_id}`)).x25519_public);\n        const w = await wrapKey(now, wrapInfo(envelopeId, version, terms.org_id, terms.grant_id), key);',
    'substituted later'],
  ['b2/c no grant verification on put', 'web/src/device.js',
    '        recipients.push(await usableGrant(g, account, entries, label));',
    '        void usableGrant; recipients.push({ terms: g, orgEncryptionKey: fromB64url(g.org_encryption_key) });',
    'substituted later|injected grants'],
  ['c3 revocation in the ledger ignored', 'web/src/grantcheck.js', '  if (revoked) throw', '  if (false) throw', 'injected grants'],
  ['d customer_seq contiguity', 'web/src/ledger/verify.js', '      if (n !== seq + 1) {', '      if (false) {', 'dropped from'],
  ['e index past the checkpoint tolerated', 'web/src/ledger/verify.js',
    '  if (BigInt(e.index) >= checkpoint.size) {', '  if (BigInt(e.index) >= checkpoint.size) return;\n  if (false) {', 'past the checkpoint'],
  ['f kept checkpoint ignored', 'web/src/ledger/verify.js',
    '  const { checkpoint, consistentWith } = await checkCheckpoint(verifier, answer.checkpoint, lastSeen, consistency);',
    '  const { checkpoint, consistentWith } = await checkCheckpoint(verifier, answer.checkpoint, null, consistency); void lastSeen;',
    'rolled-back'],
  ['g content_type not in the AAD', 'web/src/crypto/envelope.js',
    '  return utf8(`assent/v2/envelope\\n${customerId}\\n${envelopeId}\\n${version}\\n${label}\\n${contentType}`);',
    '  return utf8(`assent/v2/envelope\\n${customerId}\\n${envelopeId}\\n${version}\\n${label}`);',
    'content_type changed'],
];

const run = (cmd, args) => spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', timeout: 1800000 });
if (run('git', ['status', '--porcelain', 'web']).stdout.trim()) {
  console.error('web/ has uncommitted changes: commit or stash them first (each mutation is undone with git checkout).');
  process.exit(2);
}
const only = process.argv.slice(2);
let bad = 0;
for (const [name, file, from, to, pattern] of M) {
  if (only.length && !only.some((o) => name.startsWith(o))) continue;
  const path = join(ROOT, file);
  const src = readFileSync(path, 'utf8');
  if (src.split(from).length !== 2) throw new Error(`${name}: the check to remove is not found exactly once in ${file}`);
  writeFileSync(path, src.replace(from, to));
  try {
    const b = run('npm', ['run', 'build', '--prefix', 'web']);
    if (b.status !== 0) throw new Error(b.stderr);
    const r = run('node', ['--test', '--test-name-pattern', pattern, 'tests/browser/hostile.test.mjs']);
    const lines = r.stdout.split('\n');
    const failed = lines.filter((l) => l.startsWith('not ok'));
    const why = lines.flatMap((l, i) => (l.trim() === 'error: |-' ? [lines[i + 1].trim()] : l.trim().startsWith('error: ') ? [l.trim()] : [])).slice(0, 2);
    if (r.status === 0) bad++;
    console.log(`${r.status === 0 ? 'STILL PASSES (bad)' : 'fails (good)'}  ${name}\n    ${failed.join('\n    ')}\n    ${why.join('\n    ')}`);
  } finally {
    run('git', ['checkout', '--', file]);
  }
}
run('npm', ['run', 'build', '--prefix', 'web']);
process.exit(bad ? 1 : 0);
