// What every storage driver must do, as a suite any driver's test file runs against its own driver.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { Storage } from '../../src/storage/storage.js';

async function keysUnder(storage: Storage, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const o of storage.list(prefix)) keys.push(o.key);
  return keys.sort();
}

export function storageContract(name: string, make: () => Storage): void {
  describe(`${name} storage driver`, () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'traind-storage-contract-'));
    afterAll(() => rmSync(scratch, { recursive: true, force: true }));
    const run = `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;

    it('puts, gets, stats and opens an object; missing keys are null', async () => {
      const s = make();
      const key = `${run}/a/one.bin`;
      expect(await s.get(key)).toBeNull();
      expect(await s.stat(key)).toBeNull();
      expect(await s.open(key)).toBeNull();
      const bytes = new Uint8Array([1, 2, 3, 250, 0, 7]);
      await s.put(key, bytes);
      expect([...(await s.get(key))!]).toEqual([...bytes]);
      const st = await s.stat(key);
      expect(st?.size).toBe(6);
      expect(Math.abs((st?.modifiedMs ?? 0) - Date.now())).toBeLessThan(120_000);
      const opened = await s.open(key);
      expect(opened?.size).toBe(6);
      const read = Buffer.alloc(6);
      await opened!.handle.read(read, 0, 6, 0);
      await opened!.handle.close();
      expect([...read]).toEqual([...bytes]);
    });

    it('reads a range: within, at the end (fewer bytes), past the end (none), missing (null)', async () => {
      const s = make();
      const key = `${run}/range.bin`;
      await s.put(key, Buffer.from('0123456789'));
      expect((await s.read(key, 2, 3))?.toString()).toBe('234');
      expect((await s.read(key, 8, 5))?.toString()).toBe('89');
      expect((await s.read(key, 10, 4))?.length).toBe(0);
      expect(await s.read(`${run}/nothing.bin`, 0, 4)).toBeNull();
    });

    it('replaces an object whole, with a new version, and an opened copy keeps the old bytes', async () => {
      const s = make();
      const key = `${run}/replace.bin`;
      await s.put(key, Buffer.from('first version'));
      const before = await s.stat(key);
      const opened = await s.open(key);
      await s.put(key, Buffer.from('second, longer version'));
      const after = await s.stat(key);
      expect(after?.version).not.toBe(before?.version);
      expect((await s.get(key))?.toString()).toBe('second, longer version');
      const old = Buffer.alloc(opened!.size);
      await opened!.handle.read(old, 0, old.length, 0);
      await opened!.handle.close();
      expect(old.toString()).toBe('first version');
    });

    it('an aborted put leaves the old object whole and no temporary object, wherever the abort lands', async () => {
      const s = make();
      const key = `${run}/aborted/state.bin`;
      await s.put(key, Buffer.from('old state'));
      const before = await s.get(key);
      const pre = new AbortController();
      pre.abort();
      await expect(s.put(key, Buffer.alloc(1024, 1), pre.signal)).rejects.toMatchObject({ name: 'AbortError' });
      expect(await s.get(key)).toEqual(before);
      // 8 MiB: many chunks of a local write, a request of some length to S3.
      const big = Buffer.alloc(8 * 1024 * 1024, 7);
      let aborted = 0;
      for (const delayMs of [0, 2, 10, 40]) {
        const ac = new AbortController();
        const put = s.put(key, big, ac.signal).then(
          () => 'written',
          (err: unknown) => err,
        );
        setTimeout(() => ac.abort(), delayMs);
        const outcome = await put;
        const now = await s.get(key);
        if (outcome === 'written') {
          expect(now?.equals(big), `written after ${delayMs} ms`).toBe(true);
        } else {
          aborted++;
          expect(outcome, `after ${delayMs} ms`).toMatchObject({ name: 'AbortError' });
          // Never part of the new bytes: the old object, or (after an earlier written round) the whole new one.
          expect(now?.equals(before!) === true || now?.equals(big) === true, `after ${delayMs} ms`).toBe(true);
        }
        // An aborted request the server completed anyway leaves a temporary object for a moment (S3: deleted again within 2 s).
        await expect.poll(() => keysUnder(s, `${run}/aborted/`), { timeout: 4000, interval: 100 }).toEqual([key]);
      }
      expect(aborted).toBeGreaterThan(0);
    });

    it('streams a local file in as an object, several MB, byte for byte', async () => {
      const s = make();
      const file = path.join(scratch, 'big');
      const big = Buffer.alloc(11 * 1024 * 1024 + 123);
      for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
      writeFileSync(file, big);
      await s.putFile(`${run}/big.bin`, file);
      const back = await s.get(`${run}/big.bin`);
      expect(back?.length).toBe(big.length);
      expect(createHash('sha256').update(back!).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
    });

    it('writes an object from a stream as it arrives and reads it back as a stream, byte for byte', async () => {
      const s = make();
      const big = Buffer.alloc(11 * 1024 * 1024 + 321);
      for (let i = 0; i < big.length; i += 1000) big[i] = (i / 1000) & 0xff;
      // 64 KiB pieces, as a request body arrives: more than one multipart part on S3.
      const pieces = function* () {
        for (let at = 0; at < big.length; at += 65536) yield big.subarray(at, at + 65536);
      };
      await s.putStream(`${run}/streamed/big.bin`, Readable.from(pieces()));
      const back: Buffer[] = [];
      for await (const chunk of (await s.readStream(`${run}/streamed/big.bin`))!) back.push(chunk as Buffer);
      const joined = Buffer.concat(back);
      expect(joined.length).toBe(big.length);
      expect(createHash('sha256').update(joined).digest('hex')).toBe(createHash('sha256').update(big).digest('hex'));
      expect(await s.readStream(`${run}/streamed/missing.bin`)).toBeNull();
      await s.putStream(`${run}/streamed/small.bin`, Readable.from([Buffer.from('small')]));
      expect((await s.get(`${run}/streamed/small.bin`))?.toString()).toBe('small');
    });

    it('stores nothing when the stream fails, small or past a multipart part, and throws its error', async () => {
      const s = make();
      for (const before of [1000, 9 * 1024 * 1024]) {
        const failing = Readable.from(
          (function* () {
            for (let sent = 0; sent < before; sent += 65536) yield Buffer.alloc(Math.min(65536, before - sent), 7);
            throw new Error('the client went away');
          })(),
        );
        await expect(s.putStream(`${run}/failed/${before}.bin`, failing)).rejects.toThrow('the client went away');
      }
      expect(await keysUnder(s, `${run}/failed/`)).toEqual([]);
    });

    it('copies, lists by prefix, deletes one and a whole prefix', async () => {
      const s = make();
      await s.put(`${run}/job/x.bin`, Buffer.from('x'));
      await s.put(`${run}/job/y.bin`, Buffer.from('yy'));
      await s.put(`${run}/other/z.bin`, Buffer.from('z'));
      expect(await s.copy(`${run}/job/y.bin`, `${run}/job/copy.bin`)).toBe(true);
      expect(await s.copy(`${run}/job/missing.bin`, `${run}/job/never.bin`)).toBe(false);
      expect((await s.get(`${run}/job/copy.bin`))?.toString()).toBe('yy');
      expect(await keysUnder(s, `${run}/job/`)).toEqual([`${run}/job/copy.bin`, `${run}/job/x.bin`, `${run}/job/y.bin`]);
      const sizes = new Map<string, number>();
      for await (const o of s.list(`${run}/job/`)) sizes.set(o.key, o.size);
      expect(sizes.get(`${run}/job/y.bin`)).toBe(2);
      await s.delete(`${run}/job/x.bin`);
      await s.delete(`${run}/job/x.bin`);
      expect(await keysUnder(s, `${run}/job/`)).toEqual([`${run}/job/copy.bin`, `${run}/job/y.bin`]);
      await s.deletePrefix(`${run}/job/`);
      expect(await keysUnder(s, `${run}/job/`)).toEqual([]);
      expect(await keysUnder(s, `${run}/other/`)).toEqual([`${run}/other/z.bin`]);
      expect(await keysUnder(s, `${run}/nothing/`)).toEqual([]);
    });

    it('refuses keys that could escape their place', async () => {
      const s = make();
      for (const key of ['../x', 'a/../../x', '/abs', 'a//b', '']) await expect(s.put(key, Buffer.from('x'))).rejects.toThrow(/invalid storage key/);
    });
  });
}
