// Copies the store's Lua scripts (src/store/lua/, see src/store/scripts.ts) next to the compiled
// store in dist/, where the built service reads them; tsc copies only TypeScript's output.
import { cpSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'dist/src/store/lua');
rmSync(out, { recursive: true, force: true });
cpSync(path.join(root, 'src/store/lua'), out, { recursive: true });
