// The store's Lua scripts: one file each in ./lua/, named NAME-KEYS.lua (BullMQ's layout, so each
// script's key count is in view), with `--- @include "includes/NAME"` lines for shared functions.
// They are registered on each connection with ioredis's defineCommand, which runs a script by
// EVALSHA and sends its body only on NOSCRIPT (first use, or after a Redis restart).
import { readdirSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** Entries the webhook outbox keeps (`XADD … MAXLEN ~`): older events are dropped undelivered.
 *  lua/includes/outbox.lua holds the same number (a test checks). */
export const OUTBOX_MAXLEN = 100_000;

export const SCRIPT_NAMES = [
  'addCheckpoint',
  'addDataset',
  'addDelivery',
  'cancelSweep',
  'claimTrial',
  'countAuthFailure',
  'createEvaluation',
  'createJob',
  'createSweep',
  'createWebhook',
  'finishSweep',
  'finishTrial',
  'hsetIfExists',
  'recordEpoch',
  'releaseExpiredJob',
  'removeCheckpoint',
  'removeDataset',
  'reportEpoch',
  'setBest',
  'transition',
  'updateEvaluation',
  'updateDelivery',
] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number];

/** Next to this module: src/store/lua under vitest and tsx, dist/src/store/lua once built (`npm run build` copies it). */
export const LUA_DIR = new URL('./lua/', import.meta.url);

export interface LuaScript {
  name: ScriptName;
  numberOfKeys: number;
  /** The script with its includes expanded, as Redis runs it. */
  lua: string;
}

const INCLUDE = /^--- @include "([\w/-]+)"$/gm;

/** Replaces each include line by that file (each file at most once per script, includes nested). */
function expandIncludes(text: string, seen: Set<string>): string {
  return text.replace(INCLUDE, (_line, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    return expandIncludes(readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8'), seen).trimEnd();
  });
}

let loaded: Map<ScriptName, LuaScript> | null = null;

/** Every script, read once; throws when a name in SCRIPT_NAMES has no file, or a file no name. */
export function luaScripts(): Map<ScriptName, LuaScript> {
  if (loaded !== null) return loaded;
  const scripts = new Map<ScriptName, LuaScript>();
  for (const file of readdirSync(LUA_DIR).filter((f) => f.endsWith('.lua'))) {
    const m = /^(\w+)-(\d+)\.lua$/.exec(file);
    const name = SCRIPT_NAMES.find((n) => n === m?.[1]);
    if (m === null || name === undefined) throw new Error(`${file} in ${LUA_DIR.pathname} is not NAME-KEYS.lua for a name in SCRIPT_NAMES`);
    scripts.set(name, { name, numberOfKeys: Number(m[2]), lua: expandIncludes(readFileSync(new URL(file, LUA_DIR), 'utf8'), new Set()) });
  }
  const missing = SCRIPT_NAMES.filter((n) => !scripts.has(n));
  if (missing.length > 0) throw new Error(`no NAME-KEYS.lua in ${LUA_DIR.pathname} for ${missing.join(', ')}`);
  loaded = scripts;
  return scripts;
}

const defined = new WeakSet<Redis>();

/** Runs a script with its keys and arguments, defining every script on this connection the first time. */
export async function runScript(redis: Redis, name: ScriptName, keys: readonly string[], args: readonly (string | number)[] = []): Promise<unknown> {
  const scripts = luaScripts();
  const script = scripts.get(name)!;
  if (keys.length !== script.numberOfKeys) throw new Error(`script ${name} takes ${script.numberOfKeys} keys, got ${keys.length}`);
  if (!defined.has(redis)) {
    for (const s of scripts.values()) redis.defineCommand(s.name, { numberOfKeys: s.numberOfKeys, lua: s.lua });
    defined.add(redis);
  }
  const commands = redis as unknown as Record<ScriptName, (...keysAndArgs: (string | number)[]) => Promise<unknown>>;
  return commands[name].call(redis, ...keys, ...args);
}
