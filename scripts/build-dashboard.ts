// Bundles the dashboard (src/dashboard/ with the typed client and uPlot) into dist/dashboard/ with
// esbuild: content-hashed asset names, which the API serves as immutable, and an index.html naming them.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const source = path.join(root, 'src/dashboard');
const out = path.join(root, 'dist/dashboard');
const assets = path.join(out, 'assets');

rmSync(out, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });

const result = await build({
  entryPoints: { app: path.join(source, 'main.ts') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  outdir: assets,
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});

/** The URL path of the one output whose file name matches. */
function emitted(pattern: RegExp): string {
  const file = Object.keys(result.metafile.outputs).find((name) => pattern.test(path.basename(name)));
  if (file === undefined) throw new Error(`dashboard build: no output matches ${pattern}`);
  return `/assets/${path.basename(file)}`;
}

/** Copies a file under a name carrying its content hash, like esbuild's outputs. */
function hashedCopy(file: string): string {
  const hash = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 10);
  const name = `${path.basename(file, path.extname(file))}-${hash}${path.extname(file)}`;
  copyFileSync(file, path.join(assets, name));
  return `/assets/${name}`;
}

const names: Record<string, string> = {
  '%APP_JS%': emitted(/^app-.*\.js$/),
  '%APP_CSS%': emitted(/^app-.*\.css$/),
  '%FAVICON%': hashedCopy(path.join(source, 'favicon.svg')),
};
let html = readFileSync(path.join(source, 'index.html'), 'utf8');
for (const [placeholder, url] of Object.entries(names)) html = html.replaceAll(placeholder, url);
writeFileSync(path.join(out, 'index.html'), html);
process.stdout.write(`dashboard: dist/dashboard (${names['%APP_JS%']}, ${names['%APP_CSS%']})\n`);
