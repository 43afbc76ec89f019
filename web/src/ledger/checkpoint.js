// C2SP tlog-checkpoint (https://c2sp.org/tlog-checkpoint): a signed note whose text is
//   origin "\n" size (decimal, no leading zeros) "\n" base64std(root, 32 bytes) "\n" [extensions]
import { fromB64std } from '../crypto/bytes.js';
import { openNote, NoteError } from './note.js';

export function parseCheckpointBody(text) {
  if (!text.endsWith('\n')) throw new NoteError('checkpoint must end with a newline');
  const lines = text.slice(0, -1).split('\n');
  if (lines.length < 3) throw new NoteError('checkpoint needs origin, size and root');
  const [origin, size, root] = lines;
  if (!origin) throw new NoteError('checkpoint origin is empty');
  if (lines.slice(3).some((l) => l === '')) throw new NoteError('empty extension line');
  if (!/^(0|[1-9][0-9]*)$/.test(size)) throw new NoteError('checkpoint size is not decimal');
  let rootBytes;
  try {
    rootBytes = fromB64std(root);
  } catch {
    throw new NoteError('checkpoint root is not base64');
  }
  if (rootBytes.length !== 32) throw new NoteError('checkpoint root must be 32 bytes');
  return { origin, size: BigInt(size), root: rootBytes };
}

/** Verifies the note with the pinned key and that it is this log's (origin = key name). */
export async function verifyCheckpoint(note, verifier) {
  const cp = parseCheckpointBody(await openNote(note, verifier));
  if (cp.origin !== verifier.name) throw new NoteError(`checkpoint is for another log (${cp.origin})`);
  return cp;
}
