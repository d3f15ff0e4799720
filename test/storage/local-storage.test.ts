// The local-directory driver against the storage contract, plus what only a directory can show.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { LocalStorage } from '../../src/storage/local-storage.js';
import { storageContract } from './contract.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'traind-local-storage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

storageContract('local', () => new LocalStorage(root));

it('keeps objects as plain files under the root and leaves no temporary file behind', async () => {
  const s = new LocalStorage(root);
  await s.put('plain/file.bin', Buffer.from('abc'));
  expect(readdirSync(path.join(root, 'plain'))).toEqual(['file.bin']);
  expect(s.pathOf('plain/file.bin')).toBe(path.join(root, 'plain', 'file.bin'));
});
