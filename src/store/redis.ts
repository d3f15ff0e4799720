// Redis connections and the store context every store function takes (connection + keys + config
// + the object storage that holds the files).
import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { createStorage } from '../storage/create-storage.js';
import type { Storage } from '../storage/storage.js';
import { createKeys, type Keys } from './keys.js';

export interface Store {
  redis: Redis;
  keys: Keys;
  config: Config;
  storage: Storage;
}

/** The Redis URL with any user and password hidden, for logs and error messages. */
export function redactedUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

export interface RedisOptions {
  /** Connection name shown by CLIENT LIST. */
  name: string;
  /**
   * Blocking users (BullMQ workers, XREAD BLOCK, subscribers) must retry forever: null.
   * Request handlers want a bounded wait so a Redis outage becomes a 503, not a hang.
   */
  maxRetriesPerRequest?: number | null;
  /** Fail a command after this long, queued while reconnecting included. Default 5000 ms, none for blocking users. */
  commandTimeoutMs?: number;
}

export function createRedis(config: Config, options: RedisOptions): Redis {
  const blocking = options.maxRetriesPerRequest === null;
  const timeout = options.commandTimeoutMs ?? (blocking ? undefined : 5000);
  return new Redis(config.redisUrl, {
    connectionName: `traind:${options.name}`,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 2 : options.maxRetriesPerRequest,
    // Reconnect quickly with a capped backoff, so a restarted Redis is picked up again within a second.
    retryStrategy: (times) => Math.min(times * 100, 1000),
    enableReadyCheck: true,
    ...(timeout === undefined ? {} : { commandTimeout: timeout }),
  });
}

export function createStore(config: Config, redis: Redis): Store {
  return { redis, keys: createKeys(config.keyPrefix), config, storage: createStorage(config.storage) };
}

/**
 * A second connection for a blocking read (XREAD BLOCK ties its connection up). Caller quits it.
 * `suffix` is appended to the connection's CLIENT LIST name (`traind:api-1234:sse-0`).
 */
export function duplicateForBlocking(redis: Redis, suffix?: string): Redis {
  const name = redis.options.connectionName;
  return redis.duplicate({
    maxRetriesPerRequest: null,
    commandTimeout: undefined,
    ...(suffix === undefined || name === undefined ? {} : { connectionName: `${name}:${suffix}` }),
  });
}

/** True when a Redis answers PING at `url`: a one-off probe that never retries or queues commands. */
export async function redisAnswers(url: string, connectTimeoutMs = 1500): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: connectTimeoutMs });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}
