// Reading exactly `size` bytes of an opened object into a buffer of its own (transferable).
import type { FileHandle } from 'node:fs/promises';

/** The first `size` bytes, or null when fewer are there. */
export async function readOpened(handle: FileHandle, size: number): Promise<Uint8Array | null> {
  const bytes = new Uint8Array(size);
  let at = 0;
  while (at < size) {
    const { bytesRead } = await handle.read(bytes, at, size - at, at);
    if (bytesRead === 0) return null;
    at += bytesRead;
  }
  return bytes;
}
