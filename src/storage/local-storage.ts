// The local-directory driver: objects are files under the root (DATA_DIR), keys are relative
// paths. Writes go to a temporary file in the same directory and are renamed into place.
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { asStorageFull } from '../store/storage-full.js';
import { abortedWrite, checkKey, temporaryKey, type ObjectInfo, type ObjectStat, type OpenedObject, type Storage } from './storage.js';

/** Inode, size, mtime and ctime in nanoseconds: any rename onto the path or write changes it. */
export function fileIdentity(st: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

export class LocalStorage implements Storage {
  readonly root: string;
  readonly description: string;

  constructor(root: string) {
    this.root = path.resolve(root);
    this.description = `DATA_DIR ${this.root}`;
  }

  /** The file of a key. */
  pathOf(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  /** The file's directory and name, as a StorageFullError names it. */
  private shortName(file: string): string {
    return path.join(path.basename(path.dirname(file)), path.basename(file));
  }

  private async atomically(key: string, bytes: number, write: (tmp: string) => Promise<void>): Promise<void> {
    const file = this.pathOf(key);
    const tmp = temporaryKey(file, randomBytes(6).toString('hex'));
    try {
      await mkdir(path.dirname(file), { recursive: true });
      await write(tmp);
      await rename(tmp, file);
    } catch (err) {
      await rm(tmp, { force: true });
      throw asStorageFull(err, this.shortName(file), bytes);
    }
  }

  async put(key: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    try {
      // writeFile checks the signal between its 512 KiB writes; the temporary file is then removed.
      await this.atomically(key, bytes.byteLength, (tmp) => writeFile(tmp, bytes, { flush: true, signal }));
    } catch (err) {
      if (signal?.aborted === true) throw abortedWrite(key);
      throw err;
    }
  }

  async putFile(key: string, source: string): Promise<void> {
    const { size } = await stat(source);
    await this.atomically(key, size, async (tmp) => {
      await pipeline(createReadStream(source), createWriteStream(tmp, { flush: true }));
    });
  }

  /** The key's file opened for reading, or null when there is none. */
  private async openFile(key: string): Promise<FileHandle | null> {
    try {
      return await open(this.pathOf(key), 'r');
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async putStream(key: string, source: Readable): Promise<void> {
    await this.atomically(key, 0, async (tmp) => {
      await pipeline(source, createWriteStream(tmp, { flush: true }));
    });
  }

  async readStream(key: string): Promise<Readable | null> {
    const handle = await this.openFile(key);
    if (handle === null) return null;
    return handle.createReadStream({ highWaterMark: 1024 * 1024 });
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async read(key: string, start: number, length: number): Promise<Buffer | null> {
    const handle = await this.openFile(key);
    if (handle === null) return null;
    try {
      const out = Buffer.alloc(length);
      let at = 0;
      while (at < length) {
        const { bytesRead } = await handle.read(out, at, length - at, start + at);
        if (bytesRead === 0) break;
        at += bytesRead;
      }
      return out.subarray(0, at);
    } finally {
      await handle.close();
    }
  }

  async stat(key: string): Promise<ObjectStat | null> {
    try {
      const st = await stat(this.pathOf(key), { bigint: true });
      return { size: Number(st.size), version: fileIdentity(st), modifiedMs: Number(st.mtimeMs) };
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async open(key: string): Promise<OpenedObject | null> {
    const handle = await this.openFile(key);
    if (handle === null) return null;
    try {
      // Size and identity of the opened inode, whatever is renamed onto the path meanwhile.
      const st = await handle.stat({ bigint: true });
      return { handle, size: Number(st.size), version: fileIdentity(st) };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  async copy(fromKey: string, toKey: string): Promise<boolean> {
    const from = this.pathOf(fromKey);
    try {
      await this.atomically(toKey, 0, (tmp) => copyFile(from, tmp));
      return true;
    } catch (err) {
      if (isMissing(err) && !(await this.stat(fromKey))) return false;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async deletePrefix(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new Error(`deletePrefix: "${prefix}" must end with /`);
    await rm(this.pathOf(prefix.slice(0, -1)), { recursive: true, force: true });
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    // Keys under the prefix's directory whose full key starts with the prefix.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const dir = dirKey === '' ? this.root : this.pathOf(dirKey);
    yield* this.walk(dir, dirKey, prefix);
  }

  private async *walk(dir: string, dirKey: string, prefix: string): AsyncIterable<ObjectInfo> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw err;
    }
    for (const entry of entries) {
      const key = dirKey === '' ? entry.name : `${dirKey}/${entry.name}`;
      if (entry.isDirectory()) {
        if (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`)) yield* this.walk(path.join(dir, entry.name), key, prefix);
      } else if (entry.isFile() && key.startsWith(prefix)) {
        const st = await stat(path.join(dir, entry.name)).catch(() => null);
        if (st !== null) yield { key, size: st.size, modifiedMs: st.mtimeMs };
      }
    }
  }
}
