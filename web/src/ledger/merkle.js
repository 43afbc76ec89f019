// RFC 9162 §2.1 Merkle tree verification, written from the RFC (no library):
//   leaf hash  = SHA-256(0x00 ‖ leaf)            (§2.1.1)
//   node hash  = SHA-256(0x01 ‖ left ‖ right)    (§2.1.1)
//   inclusion  = §2.1.3.2, consistency = §2.1.4.2.
// Sizes and indexes are BigInt so that the bit operations hold past 2^32.
import { concat, equal, sha256 } from '../crypto/bytes.js';

const LEAF = new Uint8Array([0x00]);
const NODE = new Uint8Array([0x01]);

export const leafHash = (data) => sha256(LEAF, data);
export const nodeHash = (left, right) => sha256(NODE, left, right);

export class ProofError extends Error {}

function checkHashes(list, what) {
  for (const h of list) {
    if (!(h instanceof Uint8Array) || h.length !== 32) throw new ProofError(`${what}: a hash is not 32 bytes`);
  }
}

const isOdd = (n) => (n & 1n) === 1n;

/**
 * §2.1.3.2: proves that `leaf` (a tree leaf hash) is at `index` in the tree of `size` leaves whose
 * root is `root`. Throws ProofError when it is not.
 */
export async function verifyInclusion(index, size, leaf, proof, root) {
  let fn = BigInt(index);
  let sn = BigInt(size);
  checkHashes([leaf, root, ...proof], 'inclusion');
  // 1. the index must be inside the tree
  if (fn >= sn) throw new ProofError(`index ${index} is outside a tree of ${size}`);
  // 2. fn: our node's position, sn: the last node's position, at the current level
  sn -= 1n;
  // 3. start from the leaf
  let r = leaf;
  // 4. climb one level per proof hash
  for (const p of proof) {
    if (sn === 0n) throw new ProofError('inclusion proof is too long');
    if (isOdd(fn) || fn === sn) {
      // we are a right child (or the last node, promoted until it becomes one): sibling on the left
      r = await nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  // 5. we must have reached the root level and the root
  if (sn !== 0n) throw new ProofError('inclusion proof is too short');
  if (!equal(r, root)) throw new ProofError('inclusion proof does not lead to the signed root');
}

const isPowerOfTwo = (n) => n > 0n && (n & (n - 1n)) === 0n;

/**
 * §2.1.4.2: proves that the tree of `second` leaves (root2) extends the tree of `first` leaves
 * (root1). first must be > 0 (§2.1.4.1); equal sizes need an empty proof and equal roots.
 */
export async function verifyConsistency(first, second, root1, root2, proof) {
  const m = BigInt(first);
  const n = BigInt(second);
  checkHashes([root1, root2, ...proof], 'consistency');
  if (m === 0n || m > n) throw new ProofError(`cannot prove ${first} → ${second}`);
  if (m === n) {
    if (proof.length !== 0) throw new ProofError('equal sizes need an empty proof');
    if (!equal(root1, root2)) throw new ProofError('two different roots for the same size');
    return;
  }
  // 1. a proof between different sizes is never empty
  if (proof.length === 0) throw new ProofError('empty consistency proof');
  // 2. when `first` is a power of two its root is a node of the new tree: the proof omits it
  const path = isPowerOfTwo(m) ? [root1, ...proof] : [...proof];
  // 3.-4. positions of the last old node and the last new node, skipping right-child levels
  let fn = m - 1n;
  let sn = n - 1n;
  while (isOdd(fn)) {
    fn >>= 1n;
    sn >>= 1n;
  }
  // 5. both running hashes start from the first path entry
  let fr = path[0];
  let sr = path[0];
  // 6. each further entry is a sibling on the left (shared by both trees) or on the right (new only)
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new ProofError('consistency proof is too long');
    if (isOdd(fn) || fn === sn) {
      fr = await nodeHash(c, fr);
      sr = await nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      sr = await nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  // 7. both roots rebuilt, and we ended at the top
  if (sn !== 0n) throw new ProofError('consistency proof is too short');
  if (!equal(fr, root1)) throw new ProofError('the old root is not a prefix of the new tree');
  if (!equal(sr, root2)) throw new ProofError('consistency proof does not lead to the new root');
}
