// The committed WebAssembly module and native addon are rebuilt from source and compared byte for
// byte (as the OpenAPI staleness test does for openapi.json), and the addon loads on old glibc.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

import { nativeAddonPath, nativeLoadError } from '../../../src/core/kernels/native.js';

const root = path.resolve(import.meta.dirname, '../../..');
const wasmDir = path.join(root, 'src/core/kernels/wasm');
const nativeDir = path.join(root, 'src/core/kernels/native');
const prebuiltDir = path.join(nativeDir, 'prebuilt', `${process.platform}-${process.arch}`);

/** The newest glibc the addon may ask for: Debian 10/11, Ubuntu 20.04 and RHEL 8 ship 2.28–2.31. */
const OLDEST_GLIBC = [2, 28] as const;

function withTempDir<T>(use: (dir: string) => T): T {
  const dir = mkdtempSync(path.join(tmpdir(), 'traind-build-'));
  try {
    return use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function compilerVersion(): string | null {
  const res = spawnSync(process.env.CC ?? 'cc', ['--version'], { encoding: 'utf8' });
  return res.status === 0 ? (res.stdout.split('\n')[0] ?? null) : null;
}

/** BUILD_INFO lines: "compiler: …" and "sha256 <file>: <hex>". */
function buildInfo(): { compiler: string; sources: Map<string, string> } {
  const text = readFileSync(path.join(prebuiltDir, 'BUILD_INFO'), 'utf8');
  const sources = new Map<string, string>();
  let compiler = '';
  for (const line of text.split('\n')) {
    const c = /^compiler: (.*)$/.exec(line);
    if (c) compiler = c[1] ?? '';
    const s = /^sha256 (\S+): ([0-9a-f]{64})$/.exec(line);
    if (s) sources.set(s[1] ?? '', s[2] ?? '');
  }
  return { compiler, sources };
}

describe('the committed WebAssembly module', () => {
  it('is what build.sh makes from gemm.as today', () => {
    withTempDir((dir) => {
      const out = path.join(dir, 'gemm-wasm.ts');
      execFileSync('sh', [path.join(wasmDir, 'build.sh'), out], { stdio: 'pipe' });
      expect(readFileSync(out, 'utf8') === readFileSync(path.join(wasmDir, 'gemm-wasm.ts'), 'utf8'), 'gemm-wasm.ts is stale: run `npm run build:wasm`').toBe(true);
    });
  }, 120_000);
});

describe.runIf(process.platform === 'linux' && process.arch === 'x64')('the committed native addon (linux-x64)', () => {
  it('was built from the sources as they are now (BUILD_INFO hashes)', () => {
    const { sources } = buildInfo();
    expect([...sources.keys()].sort()).toEqual(['addon.c', 'build.sh', 'byte-quotient.h', 'ce-lanes.h', 'claim.h', 'elementwise.c', 'elementwise.h', 'exp-lanes.h', 'infer.c', 'infer.h', 'probe.c', 'probe.h', 'sgemm.c', 'sgemm.h', 'softmax.c', 'softmax.h']);
    for (const [file, sha] of sources) {
      const now = createHash('sha256').update(readFileSync(path.join(nativeDir, file))).digest('hex');
      expect(now, `${file} changed since the prebuilt was made: run \`npm run build:native\``).toBe(sha);
    }
  });

  // Byte-for-byte only with the compiler that made it (another gcc emits other, equally valid code)
  // and where Node's headers are installed; otherwise this is reported as skipped, not passed.
  const nodeHeaders = existsSync(path.resolve(process.execPath, '../../include/node/uv.h'));
  it.runIf(nodeHeaders && compilerVersion() !== null && compilerVersion() === buildInfo().compiler)('is byte-identical to a rebuild from source with the recorded compiler', () => {
    withTempDir((dir) => {
      execFileSync('sh', [path.join(nativeDir, 'build.sh'), dir], { stdio: 'pipe' });
      const rebuilt = readFileSync(path.join(dir, 'traind_kernels.node'));
      const committed = readFileSync(path.join(prebuiltDir, 'traind_kernels.node'));
      expect(rebuilt.equals(committed), 'traind_kernels.node is stale: run `npm run build:native`').toBe(true);
    });
  }, 120_000);

  it(`asks for no glibc newer than ${OLDEST_GLIBC.join('.')} and no libpthread`, () => {
    const bytes = readFileSync(path.join(prebuiltDir, 'traind_kernels.node')).toString('latin1');
    const versions = [...bytes.matchAll(/GLIBC_(\d+)\.(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    expect(versions.length).toBeGreaterThan(0);
    for (const [major, minor] of versions) {
      expect(major * 1000 + minor, `GLIBC_${major}.${minor}`).toBeLessThanOrEqual(OLDEST_GLIBC[0] * 1000 + OLDEST_GLIBC[1]);
    }
    expect(bytes.includes('libpthread')).toBe(false);
  });

  it('loads here', () => {
    expect(nativeAddonPath()).not.toBeNull();
    expect(nativeLoadError()).toBeNull();
  });

  it('says why when a build is there but does not load', () => {
    // The compiled loader next to a corrupt addon, in a tree of its own (it looks upwards for it).
    withTempDir((dir) => {
      const kernelsDir = path.join(dir, 'src/core/kernels');
      const addonDir = path.join(kernelsDir, 'native/prebuilt', `${process.platform}-${process.arch}`);
      mkdirSync(addonDir, { recursive: true });
      copyFileSync(path.join(root, 'dist/src/core/kernels/native.js'), path.join(kernelsDir, 'native.js'));
      writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}');
      writeFileSync(path.join(addonDir, 'traind_kernels.node'), 'not an ELF file');
      const script = `import(${JSON.stringify(path.join(kernelsDir, 'native.js'))}).then((m) => console.log(m.nativeLoadError()))`;
      const out = execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      expect(out).toContain('traind_kernels.node');
      expect(out).toMatch(/invalid ELF header|file too short/);
    });
  });
});
