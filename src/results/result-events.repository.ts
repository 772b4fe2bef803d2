import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { REDIS_ENDPOINT } from '../redis/redis.module.js';
import type { RedisEndpoint } from '../redis/redis-endpoint.js';

/** Called when a station may have new results: with the id announced, or with none after a reconnect (announcements may have been lost). */
export type ResultListener = (resultId?: number) => void;

/**
 * "A result was recorded for station X", across every instance of niix: Redis pub/sub on `<prefix>:results`.
 * One subscriber connection per process (opened with the first listener), fanned out in memory to the open streams.
 * Pub/sub is at-most-once, so listeners treat an announcement as a hint to read the database, never as the data.
 */
@Injectable()
export class ResultEventsRepository implements OnModuleDestroy {
  private readonly logger = new Logger(ResultEventsRepository.name);
  private readonly listeners = new Map<string, Set<ResultListener>>();
  private publisher?: Redis;
  private subscriber?: Promise<Redis>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(REDIS_ENDPOINT) private readonly redis: RedisEndpoint,
  ) {}

  private get channel(): string {
    return `${this.config.redis.prefix}:results`;
  }

  async publish(stationId: string, resultId: number): Promise<void> {
    this.publisher ??= this.connect('publisher');
    await this.publisher.publish(this.channel, JSON.stringify({ stationId, resultId }));
  }

  /** Listens for the station's results; resolves once the subscription is active. Returns the function that stops listening. */
  async subscribe(stationId: string, listener: ResultListener): Promise<() => void> {
    this.subscriber ??= this.openSubscriber().catch((error: unknown) => {
      this.subscriber = undefined; // the next stream tries again
      throw error;
    });
    await this.subscriber;
    let set = this.listeners.get(stationId);
    if (!set) this.listeners.set(stationId, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && this.listeners.get(stationId) === set) this.listeners.delete(stationId);
    };
  }

  private async openSubscriber(): Promise<Redis> {
    const client = this.connect('subscriber');
    let ready = false;
    client.on('message', (_channel: string, message: string) => this.dispatch(message));
    client.on('ready', () => {
      // ioredis subscribes again by itself; wake everyone after a reconnect in case an announcement was missed
      if (ready) for (const set of this.listeners.values()) for (const listener of set) listener();
      ready = true;
    });
    try {
      await client.subscribe(this.channel);
    } catch (error) {
      client.disconnect();
      throw error;
    }
    return client;
  }

  private dispatch(message: string): void {
    let event: { stationId?: unknown; resultId?: unknown };
    try {
      event = JSON.parse(message) as typeof event;
    } catch {
      return;
    }
    if (typeof event.stationId !== 'string' || typeof event.resultId !== 'number') return;
    for (const listener of this.listeners.get(event.stationId) ?? []) listener(event.resultId);
  }

  private connect(role: string): Redis {
    const client = this.redis.client();
    client.on('error', (error: Error) => this.logger.warn(`result events ${role}: ${error.message}`));
    return client;
  }

  async onModuleDestroy(): Promise<void> {
    const subscriber = await this.subscriber?.catch(() => undefined);
    subscriber?.disconnect();
    this.publisher?.disconnect();
  }
}
