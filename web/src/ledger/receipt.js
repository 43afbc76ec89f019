// Wire v2 access receipts: the vault signs each committed batch once; a read's receipt is its
// leaf's RFC 9162 inclusion path in that batch. Mirrors `ledger::receipt` in the Rust crate:
//   message = "assent/v2/receipt-batch\n" first "\n" size "\n" base64url(root) "\n" time
import { fromB64url, utf8 } from '../crypto/bytes.js';
import { ed25519Verify } from '../crypto/keys.js';
import { leafHash, verifyInclusion } from './merkle.js';

export class ReceiptError extends Error {}

export const batchMessage = (b) => `assent/v2/receipt-batch\n${b.first}\n${b.size}\n${b.root}\n${b.time}`;

/**
 * Verifies a read receipt (`{index, leaf, batch: {first, size, root, time, signature}, path}`,
 * as the wire carries it) against the pinned vault key `publicKey` (32 raw bytes). Throws
 * ReceiptError unless the leaf sits at `index − first` of the batch and the pinned key signed
 * the batch.
 */
export async function verifyAccessReceipt(publicKey, receipt) {
  const { index, leaf, batch, path } = receipt;
  const [first, size, at] = [BigInt(batch.first), BigInt(batch.size), BigInt(index)];
  if (at < first || at >= first + size) throw new ReceiptError('the receipt names an entry outside its batch');
  try {
    await verifyInclusion(at - first, size, await leafHash(fromB64url(leaf)), path.map(fromB64url), fromB64url(batch.root));
  } catch (e) {
    throw new ReceiptError(`the receipt's path does not lead to its batch's root: ${e.message}`);
  }
  if (!(await ed25519Verify(publicKey, utf8(batchMessage(batch)), fromB64url(batch.signature)))) {
    throw new ReceiptError('the batch is not signed by the pinned vault key');
  }
}
