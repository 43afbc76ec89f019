// Checks consent receipts the vault signed, with libraries nobody on the project wrote:
//   - every Kantara CR v1.1 receipt validates against the Kantara working group's JSON schema
//     (draft-04, ajv-draft-04), and so does the group's own example (positive control);
//   - every ISO/IEC TS 27560 record expands as JSON-LD (jsonld.js in safe mode: a term that maps
//     to no IRI, a relative IRI or any other lossy step is an error) with the vault's context,
//     loaded from the local file (no network), and keeps every field and value.
//
// Usage: node tests/browser/receipts-check.mjs <receipts.json> <context url>
//   receipts.json: [{ "name": …, "kantara": {…}, "iso27560": {…} }, …]
// Prints a JSON summary; exits non-zero with the reasons on any failure.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const require = createRequire(join(root, 'web', 'package.json'));
const Ajv = require('ajv-draft-04');
const jsonld = require('jsonld');

const [receiptsFile, contextUrl] = process.argv.slice(2);
if (!receiptsFile || !contextUrl) {
  console.error('usage: receipts-check.mjs <receipts.json> <context url>');
  process.exit(2);
}

const read = (p) => readFileSync(join(root, p), 'utf8');
// The schema file carries `//` comment lines, which JSON does not allow.
const schema = JSON.parse(read('tests/receipts/kantara-consent-receipt-v1_1-schema.json').replace(/^\s*\/\/.*$/gm, ''));
const example = JSON.parse(read('tests/receipts/kantara-consent-receipt-v1_1-example.json'));
const contextText = read('web/ld/consent-v1.jsonld');
const receipts = JSON.parse(readFileSync(receiptsFile, 'utf8'));

const failures = [];
const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(schema);
if (!validate(example)) failures.push(`the Kantara example does not validate: ${ajv.errorsText(validate.errors)}`);

// Only the vault's context, from the file the vault serves; anything else is refused.
const documentLoader = async (url) => {
  if (url === contextUrl) return { contextUrl: null, documentUrl: url, document: JSON.parse(contextText) };
  throw new Error(`no network in tests: refusing to load ${url}`);
};

const prefixes = JSON.parse(contextText)['@context'];
/** Every key of the compact document (but `@…` keywords), expanded by prefix. */
function keyIris(v, out = new Set()) {
  if (Array.isArray(v)) v.forEach((x) => keyIris(x, out));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (k === '@context') continue;
      if (!k.startsWith('@')) {
        const [p, local] = k.split(/:(.*)/s);
        out.add(typeof prefixes[p] === 'string' ? prefixes[p] + local : `UNMAPPED ${k}`);
      }
      keyIris(x, out);
    }
  }
  return out;
}
/** Non-null scalars (values, ids, types) of a document, `@context` aside. */
function scalars(v) {
  if (Array.isArray(v)) return v.reduce((n, x) => n + scalars(x), 0);
  if (v && typeof v === 'object') return Object.entries(v).reduce((n, [k, x]) => n + (k === '@context' ? 0 : scalars(x)), 0);
  return v === null || v === undefined ? 0 : 1;
}
function expandedKeys(v, out = new Set()) {
  if (Array.isArray(v)) v.forEach((x) => expandedKeys(x, out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) { if (!k.startsWith('@')) out.add(k); expandedKeys(x, out); }
  return out;
}

let kantaraValid = 0;
let expanded = 0;
for (const r of receipts) {
  if (validate(r.kantara)) kantaraValid += 1;
  else failures.push(`${r.name}: Kantara receipt refused by the schema: ${ajv.errorsText(validate.errors)}`);
  try {
    const doc = r.iso27560;
    if (doc['@context'] !== contextUrl) throw new Error(`@context is ${JSON.stringify(doc['@context'])}`);
    const out = await jsonld.expand(doc, { documentLoader, safe: true });
    const have = expandedKeys(out);
    const missing = [...keyIris(doc)].filter((iri) => !have.has(iri));
    if (missing.length) throw new Error(`properties dropped by expansion: ${missing.join(', ')}`);
    // Lists of one element may be written as a scalar; nothing may disappear.
    if (scalars(out) < scalars(doc)) throw new Error(`values dropped: ${scalars(doc)} in, ${scalars(out)} out`);
    for (const iri of [
      'http://purl.org/dc/terms/conformsTo', 'http://purl.org/dc/terms/identifier', 'http://purl.org/dc/terms/language',
      'https://w3id.org/dpv#hasDataSubject', 'https://w3id.org/dpv#hasProcess', 'https://w3id.org/dpv#hasConsentStatus',
      'https://w3id.org/dpv#hasNotice', 'https://w3id.org/dpv#hasPurpose', 'https://w3id.org/dpv#hasPersonalData',
      'https://w3id.org/dpv#hasDataController', 'https://w3id.org/dpv#hasRecipient', 'https://w3id.org/dpv#hasStorageCondition',
      'https://w3id.org/dpv#hasJurisdiction', 'https://w3id.org/dpv#hasConsentControl', 'https://w3id.org/dpv#isIndicatedAtTime',
      'https://w3id.org/dpv#isIndicatedBy', 'https://w3id.org/dpv#hasDuration', 'https://w3id.org/dpv#hasEntity',
    ]) if (!have.has(iri)) throw new Error(`no ${iri} after expansion`);
    expanded += 1;
  } catch (e) {
    failures.push(`${r.name}: ISO/IEC TS 27560 record is not lossless JSON-LD: ${e.message ?? e}`);
  }
}

// Negative controls: the checks do refuse what they must.
let controlsRefused = 0;
if (receipts.length) {
  const bad = structuredClone(receipts[0].kantara);
  delete bad.piiControllers[0].email;
  if (!validate(bad)) controlsRefused += 1;
  else failures.push('the schema accepted a receipt without piiControllers[0].email');
  const unmapped = { ...receipts[0].iso27560, undeclared_field: 'dropped by JSON-LD' };
  try {
    await jsonld.expand(unmapped, { documentLoader, safe: true });
    failures.push('safe JSON-LD expansion accepted a field the context does not map');
  } catch {
    controlsRefused += 1;
  }
}

console.log(JSON.stringify({ receipts: receipts.length, kantaraValid, expanded, exampleValid: validate(example), controlsRefused }));
if (failures.length) {
  console.error(failures.join('\n'));
  process.exit(1);
}
