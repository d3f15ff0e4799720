// Time-ordered ids (ULID: 48-bit ms time + 80 random bits, Crockford base32) with a kind prefix,
// e.g. job_01JD…, ds_01JD…. Sorting ids sorts by creation time, which the list indexes rely on.
import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ULID = '[0-9A-HJKMNP-TV-Z]{26}';

export const JOB_ID_PATTERN = new RegExp(`^job_${ULID}$`);
export const DATASET_ID_PATTERN = new RegExp(`^ds_${ULID}$`);
export const WEBHOOK_ID_PATTERN = new RegExp(`^wh_${ULID}$`);
export const SWEEP_ID_PATTERN = new RegExp(`^sw_${ULID}$`);
export const EVALUATION_ID_PATTERN = new RegExp(`^ev_${ULID}$`);

let lastTime = -1;
let lastRandom: number[] = [];

function randomDigits(): number[] {
  const bytes = randomBytes(16);
  return Array.from({ length: 16 }, (_, i) => (bytes[i] ?? 0) % 32);
}

/** Monotonic within this process: two ids made in one millisecond still sort in creation order. */
function ulid(now: number): string {
  let rand: number[];
  if (now <= lastTime) {
    rand = lastRandom.slice();
    for (let i = rand.length - 1; i >= 0; i--) {
      const d = rand[i] ?? 0;
      if (d < 31) {
        rand[i] = d + 1;
        break;
      }
      rand[i] = 0;
    }
    now = lastTime;
  } else {
    rand = randomDigits();
  }
  lastTime = now;
  lastRandom = rand;
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + rand.map((d) => ALPHABET[d]).join('');
}

export function newJobId(now = Date.now()): string {
  return `job_${ulid(now)}`;
}

export function newDatasetId(now = Date.now()): string {
  return `ds_${ulid(now)}`;
}

export function newWebhookId(now = Date.now()): string {
  return `wh_${ulid(now)}`;
}

export function newSweepId(now = Date.now()): string {
  return `sw_${ulid(now)}`;
}

export function newEvaluationId(now = Date.now()): string {
  return `ev_${ulid(now)}`;
}

export function isJobId(id: string): boolean {
  return JOB_ID_PATTERN.test(id);
}

export function isDatasetId(id: string): boolean {
  return DATASET_ID_PATTERN.test(id);
}
