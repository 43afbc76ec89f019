// Plain words for labels, purposes, durations, times, sizes, file types and ledger events, and an
// organization's identity as 12 words. The catalog mirrors src/domain/catalog.rs (the API also
// sends `purpose_words` with each request).
import { entropyToMnemonic, mnemonicToEntropy } from '@scure/bip39';
import { wordlist } from '@scure/bip39/wordlists/english.js';

export const LABELS = {
  email: 'email address',
  phone: 'phone number',
  full_name: 'full name',
  postal_address: 'postal address',
  date_of_birth: 'date of birth',
  nationality: 'nationality',
  national_id: 'national identity number',
  passport: 'passport',
  drivers_license: 'driving licence',
  tax_id: 'tax identification number',
  bank_account: 'bank account',
  employment: 'employment details',
  income: 'income',
  health_insurance: 'health insurance',
  photo: 'photo',
  document: 'document',
};

export const PURPOSES = {
  'dpv:IdentityVerification': 'identity verification',
  'dpv:FraudPreventionAndDetection': 'fraud prevention',
  'dpv:LegalCompliance': 'legal compliance',
  'dpv:ServiceProvision': 'providing the service',
  'dpv:AccountManagement': 'account management',
  'dpv:CustomerCare': 'customer care',
  'dpv:CommunicationManagement': 'communications',
  'dpv:DeliveryOfGoods': 'delivery',
  'dpv:PaymentManagement': 'payments',
  'dpv:CreditChecking': 'credit checks',
  'dpv:Personalisation': 'personalisation',
  'dpv:Marketing': 'marketing',
  'dpv:ResearchAndDevelopment': 'research and development',
};

export const labelWords = (l) => LABELS[l] || (l.startsWith('x_') ? l.slice(2).replaceAll('_', ' ') : l);
export const purposeWords = (p) => PURPOSES[p] || 'an unknown purpose';

/** "a, b and c" */
export function list(items) {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

export function duration(secs) {
  const units = [
    [365 * 86400, 'year'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
  ];
  for (const [s, w] of units) {
    if (secs >= s && secs % s === 0) {
      const n = secs / s;
      return `${n} ${w}${n === 1 ? '' : 's'}`;
    }
  }
  if (secs >= 86400) {
    const n = Math.round(secs / 86400);
    return `about ${n} day${n === 1 ? '' : 's'}`;
  }
  return `${secs} seconds`;
}

const hhmm = (d) => d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
const dayMonth = (d, year) =>
  d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', ...(year ? { year: 'numeric' } : {}) });

/** "today 10:42", "yesterday 09:10", "3 Nov 10:42", "3 Nov 2025, 10:42" (local time). */
export function when(iso, now = new Date()) {
  const d = new Date(iso);
  const startOf = (x) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((startOf(now) - startOf(d)) / 86400000);
  if (days === 0) return `today ${hhmm(d)}`;
  if (days === 1) return `yesterday ${hhmm(d)}`;
  return `${dayMonth(d, d.getFullYear() !== now.getFullYear())}, ${hhmm(d)}`;
}

/** "24 Dec 2026" (local time) */
export const day = (iso) => new Date(iso).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });

/** "24 Dec 2026 (in 30 days)" */
export function until(iso, now = Date.now()) {
  const d = new Date(iso);
  const secs = Math.round((d.getTime() - now) / 1000);
  const date = d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
  if (secs <= 0) return `${date} (ended)`;
  if (secs < 3600) return `${date}, ${hhmm(d)} (in ${Math.max(1, Math.round(secs / 60))} minutes)`;
  if (secs < 86400) return `${date}, ${hhmm(d)} (in ${Math.round(secs / 3600)} hours)`;
  const n = Math.round(secs / 86400);
  return `${date} (in ${n} day${n === 1 ? '' : 's'})`;
}

/** One ledger event as a sentence; `org` is the organization's display name. */
export function sentence(ev, org) {
  const what = ev.label ? `your ${labelWords(ev.label)}` : '';
  const labels = ev.labels ? `your ${list(ev.labels.map(labelWords))}` : '';
  const purposes = ev.purposes ? list(ev.purposes.map(purposeWords)) : '';
  switch (ev.type) {
    case 'customer_registered':
      return 'You created your vault';
    case 'envelope_written':
      return ev.version === 1 ? `You stored ${what}` : `You updated ${what}`;
    case 'envelope_erased':
      return `You erased ${what}: its data and every key to it were destroyed`;
    case 'key_rotated':
      return `${what[0].toUpperCase()}${what.slice(1)} got a new lock after you ended someone’s access`;
    case 'org_registered':
      return `${org} joined the vault`;
    case 'org_keys_changed':
      return `${org} changed its keys`;
    case 'request_created':
      return `${org} asked for ${labels} for ${purposes}`;
    case 'request_declined':
      return `You declined ${org}’s request`;
    case 'grant_created':
      return `You allowed ${org} to read ${labels} for ${purposes}`;
    case 'grant_revoked':
      return `You revoked ${org}’s access`;
    case 'read':
      return `${org} read ${what} for ${purposeWords(ev.purpose)}`;
    case 'erasure_requested':
      return `You asked ${org} to erase what it read under a grant (answer due ${day(ev.due)})`;
    case 'erasure_answered':
      if (ev.outcome === 'erased') return `${org} answered your erasure request: erased`;
      if (ev.outcome === 'refused') return `${org} answered your erasure request: refused: ${ev.reason ?? 'no reason given'}`;
      return `${org} answered your erasure request with an unknown outcome`;
    default:
      return `Unknown event ${ev.type}`;
  }
}

/**
 * An organization's identity as 12 English words: the BIP-39 mnemonic of the 16-byte fingerprint
 * (first 16 bytes of SHA-256 of its Ed25519 identity key, crypto/sign.js `fingerprint`, given
 * here as its hex form). Easier to read out and compare than 32 hex digits; same 128 bits.
 */
export function identityWords(fingerprintHex) {
  const digits = String(fingerprintHex).replace(/\s+/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(digits)) throw new Error('not a 16-byte fingerprint');
  const bytes = new Uint8Array(digits.match(/../g).map((x) => parseInt(x, 16)));
  return entropyToMnemonic(bytes, wordlist);
}

/**
 * What a person typed to identify an organization → the fingerprint's 32 hex digits, or the text
 * unchanged when it is not 12 valid words (hex is then compared as before, orgtrust.js).
 */
export function wordsToFingerprint(text) {
  const words = String(text).trim().toLowerCase().split(/[\s,.;:-]+/).filter(Boolean);
  if (words.length !== 12) return text;
  try {
    return Array.from(mnemonicToEntropy(words.join(' '), wordlist), (b) => b.toString(16).padStart(2, '0')).join('');
  } catch {
    return text;
  }
}

/** "2.9 KB", "812 bytes", "1.0 MB" (decimal units, as file managers show them). */
export function humanSize(n) {
  if (n < 1000) return `${n} byte${n === 1 ? '' : 's'}`;
  if (n < 1000 * 1000) return `${(n / 1000).toFixed(1)} KB`;
  return `${(n / 1e6).toFixed(1)} MB`;
}

const TYPES = {
  'application/pdf': 'PDF',
  'image/jpeg': 'JPEG image',
  'image/png': 'PNG image',
  'image/gif': 'GIF image',
  'image/webp': 'WebP image',
  'image/heic': 'HEIC photo',
  'text/plain': 'text',
  'text/csv': 'spreadsheet (CSV)',
  'application/zip': 'ZIP archive',
  'application/msword': 'Word document',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'Word document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'Excel spreadsheet',
  'application/octet-stream': 'file',
};

/** A media type as a person would call it: "PDF", "PNG image", else "<subtype> file". */
export function typeWords(mediaType) {
  const t = String(mediaType || '').split(';')[0].trim().toLowerCase();
  if (TYPES[t]) return TYPES[t];
  const [top, sub = ''] = t.split('/');
  const kind = { image: 'image', audio: 'audio', video: 'video', text: 'text' }[top] || 'file';
  return `${sub.replace(/^(x-|vnd\.)/, '').replace(/\+.*$/, '').toUpperCase()} ${kind}`.trim();
}

/**
 * A ledger event as a title naming who did what (the Ledger screen): "Acme Bank read your email
 * address for fraud prevention". `org` is the name from the organization's verified key log.
 */
export const eventTitle = (ev, org) => sentence(ev, org || 'An organization');

/** A rough passphrase strength estimate for the hint (not a policy). */
export function strength(pw) {
  if (!pw) return { score: 0, words: 'Enter a passphrase', bits: 0 };
  let pool = 0;
  if (/[a-z]/.test(pw)) pool += 26;
  if (/[A-Z]/.test(pw)) pool += 26;
  if (/[0-9]/.test(pw)) pool += 10;
  if (/[^A-Za-z0-9]/.test(pw)) pool += 33;
  let bits = [...pw].length * Math.log2(Math.max(pool, 2));
  if (/(.)\1\1/.test(pw)) bits *= 0.7; // repeated characters
  if (/^(password|passphrase|123456|qwerty|letmein|iloveyou|admin)/i.test(pw)) bits = Math.min(bits, 20);
  if (/(0123|1234|2345|3456|4567|5678|6789|abcd|qwer|asdf)/i.test(pw)) bits *= 0.8;
  bits = Math.round(bits);
  if (bits < 45) return { score: 1, bits, words: 'Weak: easy to guess. Use four or more unrelated words.' };
  if (bits < 65) return { score: 2, bits, words: 'Fair: add another word or two.' };
  if (bits < 90) return { score: 3, bits, words: 'Good.' };
  return { score: 4, bits, words: 'Strong.' };
}
