// The pure core entry is a library for any JS runtime: bundled for the browser it pulls in no Node
// module, and the bundle, run in a bare V8 context holding only browser globals (no process,
// require, setImmediate or setTimeout) and in headless Chromium, trains XOR, yielding through a
// MessageChannel or the caller's function.
import { build, type BuildFailure } from 'esbuild';
import vm from 'node:vm';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { chromiumMissing, launchChromium } from '../helpers/browser.js';
import { config, constantLr, dense } from './train-helpers.js';

async function bundleForBrowser(entry: string) {
  return build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'iife', globalName: 'traindCore', write: false, metafile: true, logLevel: 'silent' });
}

// What the bundle may touch of its host: what every browser and worker offers.
function browserLikeContext(): vm.Context {
  return vm.createContext({ performance: { now: () => performance.now() }, TextEncoder, TextDecoder, MessageChannel });
}

const xorConfig = config({ layers: [dense(8, 'tanh'), dense(2)], epochs: 300, batchSize: 4, learningRate: constantLr(0.05) });

// Runs inside the context: everything below uses the bundle's own exports and the context's globals.
const script = `
  const xor = () => ({ train: { x: Float32Array.from([0, 0, 0, 1, 1, 0, 1, 1]), y: Float32Array.from([0, 1, 1, 0]), n: 4, features: 2, targetWidth: 1 }, validation: null });
  globalThis.learnXor = async (cfg) => {
    let epochs = 0;
    const result = await traindCore.train(cfg, xor(), { onEpoch: () => { epochs += 1; } });
    const { outputs } = traindCore.predict(traindCore.loadCheckpoint(result.checkpoint), xor().train.x, 4);
    const accuracy = traindCore.scorePredictions(cfg.loss, outputs, xor().train.y, 4, 2, 1).accuracy;
    return { reason: result.reason, epochs, backend: result.backend, accuracy };
  };
  globalThis.trainFor = async (cfg, injected) => {
    let yields = 0;
    const options = injected ? { yieldToCaller: () => { yields += 1; return Promise.resolve(); } } : {};
    const result = await traindCore.train(cfg, xor(), {}, options);
    return { reason: result.reason, yields };
  };
  globalThis.hostGlobals = ['process', 'require', 'Buffer', 'setImmediate', 'setTimeout'].filter((name) => typeof globalThis[name] !== 'undefined');
`;

describe('the pure core entry (src/core/index.ts)', () => {
  it('bundles for the browser without a Node builtin, and the Node entry does not', async () => {
    const pure = await bundleForBrowser('src/core/index.ts');
    const inputs = Object.keys(pure.metafile.inputs);
    expect(inputs.length).toBeGreaterThan(20);
    expect(inputs.filter((f) => !f.startsWith('src/core/'))).toEqual([]);
    expect(inputs.filter((f) => /kernels\/(native|wasm|select)/.test(f))).toEqual([]);

    const failure = await bundleForBrowser('src/core/node.ts').then(
      () => null,
      (e: BuildFailure) => e,
    );
    expect(failure?.errors.map((e) => e.text).join('\n')).toMatch(/node:(fs|module|path|url|worker_threads|v8)/);
  });

  it('trains XOR to 100% in a context with only browser globals', async () => {
    const pure = await bundleForBrowser('src/core/index.ts');
    const context = browserLikeContext();
    vm.runInContext(`${pure.outputFiles[0]!.text}\n${script}`, context);
    expect(context.hostGlobals).toEqual([]);

    const learned = await context.learnXor(JSON.parse(JSON.stringify(xorConfig)));
    expect(learned).toEqual({ reason: 'max_epochs', epochs: 300, backend: 'js', accuracy: 1 });

    // Long enough to yield several times: through the caller's function, then through the default
    // (a MessageChannel message here; a broken default would hang or throw for want of setTimeout).
    const long = JSON.parse(JSON.stringify({ ...xorConfig, epochs: 1_000_000, maxRuntimeSeconds: 0.3 }));
    const injected = await context.trainFor(long, true);
    expect(injected.reason).toBe('max_runtime');
    expect(injected.yields).toBeGreaterThanOrEqual(2);
    const byDefault = await context.trainFor(long, false);
    expect(byDefault).toEqual({ reason: 'max_runtime', yields: 0 });
  });
});

const missing = chromiumMissing();

// On CI (.ci/run sets TRAIND_REQUIRE_BROWSER=1 after installing chromium) a missing browser fails.
describe.runIf(missing !== null && process.env.TRAIND_REQUIRE_BROWSER === '1')('the pure core entry in Chromium', () => {
  it('has a browser', () => {
    throw new Error(`the browser test must run here: ${missing}`);
  });
});

describe.skipIf(missing !== null)(`the pure core entry in Chromium${missing !== null ? ` (skipped: ${missing})` : ''}`, () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('trains XOR to 100% in a page, yielding through MessageChannel', async () => {
    const pure = await bundleForBrowser('src/core/index.ts');
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent('<!doctype html><title>core</title>');
    await page.addScriptTag({ content: `${pure.outputFiles[0]!.text}\n${script}` });
    expect(await page.evaluate(() => (globalThis as unknown as { hostGlobals: string[] }).hostGlobals)).toEqual(['setTimeout']);

    type InPage = { learnXor(cfg: unknown): Promise<unknown>; trainFor(cfg: unknown, injected: boolean): Promise<unknown> };
    const learned = await page.evaluate((cfg) => (globalThis as unknown as InPage).learnXor(cfg), JSON.parse(JSON.stringify(xorConfig)));
    expect(learned).toEqual({ reason: 'max_epochs', epochs: 300, backend: 'js', accuracy: 1 });
    const long = JSON.parse(JSON.stringify({ ...xorConfig, epochs: 1_000_000, maxRuntimeSeconds: 0.3 }));
    expect(await page.evaluate((cfg) => (globalThis as unknown as InPage).trainFor(cfg, false), long)).toEqual({ reason: 'max_runtime', yields: 0 });
    expect(errors).toEqual([]);
    await page.close();
  });
});
