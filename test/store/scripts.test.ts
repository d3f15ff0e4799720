// The store's Lua scripts load from one file each (NAME-KEYS.lua, includes expanded), run through
// ioredis's defineCommand (EVALSHA, the body again after the script cache is flushed), refuse a
// wrong key count by name, and ship with the build: dist/ holds the same scripts.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { luaScripts, OUTBOX_MAXLEN, runScript, SCRIPT_NAMES } from '../../src/store/scripts.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis.js';

describe('store Lua scripts', () => {
  it('loads every script in SCRIPT_NAMES with its key count from the file name and its includes expanded', () => {
    const scripts = luaScripts();
    expect([...scripts.keys()].sort()).toEqual([...SCRIPT_NAMES].sort());
    expect(scripts.get('createJob')!.numberOfKeys).toBe(7);
    expect(scripts.get('finishSweep')!.numberOfKeys).toBe(12);
    for (const s of scripts.values()) {
      expect(s.lua, s.name).not.toMatch(/@include/);
      expect(s.numberOfKeys, s.name).toBeGreaterThanOrEqual(1);
    }
    expect(scripts.get('transition')!.lua).toMatch(/local function outbox\(/);
    expect(scripts.get('addDataset')!.lua).toMatch(/local function usedBytes\(/);
  });

  it('keeps OUTBOX_MAXLEN and the outbox include on the same number', () => {
    const include = readFileSync(new URL('../../src/store/lua/includes/outbox.lua', import.meta.url), 'utf8');
    expect(Number(/local OUTBOX_MAXLEN = (\d+)/.exec(include)?.[1])).toBe(OUTBOX_MAXLEN);
  });

  it('ships in dist/: the built module reads the same scripts', () => {
    const out = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', "const m = await import('./dist/src/store/scripts.js'); console.log(JSON.stringify([...m.luaScripts().values()]));"],
      { encoding: 'utf8' },
    );
    const built = new Map((JSON.parse(out) as { name: string; lua: string }[]).map((s) => [s.name, s.lua]));
    expect(built.size).toBe(SCRIPT_NAMES.length);
    for (const s of luaScripts().values()) expect(built.get(s.name), s.name).toBe(s.lua);
  });

  describe('on a real Redis', () => {
    let server: PrivateRedis;
    let redis: Redis;
    beforeAll(async () => {
      server = await startPrivateRedis();
      redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
    });
    afterAll(async () => {
      redis?.disconnect();
      await server?.dispose();
    });

    it('runs by EVALSHA, and again once the script cache is flushed (the body is sent on NOSCRIPT)', async () => {
      expect(await runScript(redis, 'countAuthFailure', ['k'], [60_000])).toEqual([1, expect.any(Number)]);
      const sha = createHash('sha1').update(luaScripts().get('countAuthFailure')!.lua).digest('hex');
      expect(await redis.script('EXISTS', sha)).toEqual([1]);
      await redis.script('FLUSH');
      expect(await runScript(redis, 'countAuthFailure', ['k'], [60_000])).toEqual([2, expect.any(Number)]);
      expect(await runScript(redis, 'hsetIfExists', ['missing'], ['f', 'v'])).toBe(0);
      expect(await redis.exists('missing')).toBe(0);
    });

    it('refuses a wrong key count, naming the script, before anything reaches Redis', async () => {
      await expect(runScript(redis, 'setBest', ['only-one'], ['{}'])).rejects.toThrow('script setBest takes 2 keys, got 1');
    });
  });
});
