/**
 * `--queue redis://HOST:PORT[/NAME]`: where the Redis server is and which BullMQ queue on it
 * holds the grid (default 'ncgpu'), plus connections that fail with a message a user can act on.
 */
import { Redis } from 'ioredis';

export interface QueueAddress {
  host: string;
  port: number;
  name: string;
  /** the URL as given, for messages */
  url: string;
}

export function parseQueueUrl(url: string | undefined): QueueAddress {
  if (!url) throw new Error('--queue redis://HOST:PORT[/NAME] is required');
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue must look like redis://HOST:PORT[/NAME], got '${url}'`);
  }
  if (u.protocol !== 'redis:' || !u.hostname) throw new Error(`--queue must look like redis://HOST:PORT[/NAME], got '${url}'`);
  const name = decodeURIComponent(u.pathname.replace(/^\//, '')) || 'ncgpu';
  // BullMQ builds its Redis keys as bull:NAME:..., so a ':' in the name would blur them
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`--queue: the queue name after the port must be letters, digits, '_', '.' or '-', got '${name}'`);
  const port = u.port ? Number(u.port) : 6379;
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port, name, url };
}

export const describeRedis = (a: QueueAddress): string => `Redis at ${a.host}:${a.port}`;

/** Why a connection failed, in the words of the system call (ECONNREFUSED, ENOTFOUND, ...). */
export const redisErrorText = (e: unknown): string => {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message;
};

/**
 * A connection for BullMQ (blocking commands need maxRetriesPerRequest: null). `persistent`
 * connections (workers) reconnect forever, so a Redis restart only pauses them; one-shot
 * commands (submit, status, collect) fail at once instead of hanging.
 */
export async function connectRedis(a: QueueAddress, persistent: boolean): Promise<Redis> {
  const redis = new Redis({
    host: a.host, port: a.port, lazyConnect: true, maxRetriesPerRequest: null,
    ...(persistent ? { retryStrategy: (times: number) => Math.min(times * 200, 2000) } : { retryStrategy: () => null, connectTimeout: 5000 }),
  });
  // the listener also keeps ioredis from printing every failed reconnect as an unhandled error;
  // the socket's error (ECONNREFUSED ...) says more than connect()'s 'Connection is closed'
  let socketError: unknown;
  redis.on('error', (e) => (socketError = e));
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    throw new Error(`cannot reach ${describeRedis(a)} (${redisErrorText(socketError ?? e)}); is redis-server running there? (--queue ${a.url})`);
  }
  return redis;
}
