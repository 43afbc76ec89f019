// Bundles the dashboard (web/src/main.js and its npm dependencies) into web/dist/app.js, so the
// page loads one same-origin module under a strict CSP (no import map, no inline script).
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
await build({
  entryPoints: [join(here, 'src/main.js')],
  outfile: join(here, 'dist/app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'warning',
});
console.log('built web/dist/app.js');
