// Redis connections and the store context every store function takes (connection + keys + config).
import { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { createKeys, type Keys } from './keys.js';

export interface Store {
  redis: Redis;
  keys: Keys;
  config: Config;
}

export interface RedisOptions {
  /** Connection name shown by CLIENT LIST. */
  name: string;
  /**
   * Blocking users (BullMQ workers, XREAD BLOCK, subscribers) must retry forever: null.
   * Request handlers want a bounded wait so a Redis outage becomes a 503, not a hang.
   */
  maxRetriesPerRequest?: number | null;
}

export function createRedis(config: Config, options: RedisOptions): Redis {
  return new Redis(config.redisUrl, {
    connectionName: `traind:${options.name}`,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 3 : options.maxRetriesPerRequest,
    // Reconnect with a capped backoff; a restarted Redis is picked up again.
    retryStrategy: (times) => Math.min(times * 200, 2000),
    enableReadyCheck: true,
  });
}

export function createStore(config: Config, redis: Redis): Store {
  return { redis, keys: createKeys(config.keyPrefix), config };
}

/** A second connection for a blocking read (XREAD BLOCK ties its connection up). Caller quits it. */
export function duplicateForBlocking(redis: Redis): Redis {
  return redis.duplicate({ maxRetriesPerRequest: null });
}
