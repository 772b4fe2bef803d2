import createClient, { type Client } from 'openapi-fetch';
import { type CallOutcome, DEFAULT_RETRY, type RetryOptions, callApi } from './api-call.js';
import type { paths } from './openapi.generated.js';
import { required } from './station-client.js';

type JsonBody<P extends keyof paths, M extends 'post'> = paths[P][M] extends { requestBody: { content: { 'application/json': infer B } } } ? B : never;

export type CreateStationRequest = JsonBody<'/api/v1/stations', 'post'>;
/** A registered station with its API key and webhook secret (shown only in this answer). */
export type CreatedStation = paths['/api/v1/stations']['post']['responses'][201]['content']['application/json'];
export type Station = paths['/api/v1/stations']['get']['responses'][200]['content']['application/json'][number];
export type CreateUserRequest = JsonBody<'/api/v1/users', 'post'>;
export type User = paths['/api/v1/users']['post']['responses'][201]['content']['application/json'];
export type Session = paths['/api/v1/auth/login']['post']['responses'][200]['content']['application/json'];

export interface AdminClientOptions {
  baseUrl: string;
  /** A session token from `login`; not needed to call `login`. */
  token?: string;
  fetch?: typeof fetch;
  retry?: RetryOptions;
}

/**
 * The administration calls tools and tests need: sign in, register stations (which hands out their API keys),
 * create users. Reads are retried like the station client's; creating calls are not, since they carry no
 * Idempotency-Key (a lost answer shows as 409 station_name_taken / username_taken on the next try).
 */
export class AdminClient {
  private readonly api: Client<paths>;
  private readonly retry: Required<RetryOptions>;
  private readonly baseUrl: string;
  private token: string | undefined;

  constructor(options: AdminClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    const fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.api = createClient<paths>({ baseUrl: this.baseUrl, fetch: (request) => fetchImpl(request) });
    this.api.use({
      onRequest: ({ request }) => {
        if (this.token) request.headers.set('Authorization', `Bearer ${this.token}`);
        return request;
      },
    });
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
  }

  /** Signs in and keeps the session token for the next calls; 401 unauthenticated for a wrong password. */
  async login(username: string, password: string): Promise<Session> {
    const { data, response } = await this.call(() => this.api.POST('/api/v1/auth/login', { body: { username, password } }), true);
    const session = required(data, response);
    this.token = session.token;
    return session;
  }

  /** Registers a station; the answer holds its API key, shown this once. 409 station_name_taken if the name is used. */
  async createStation(body: CreateStationRequest): Promise<CreatedStation> {
    const { data, response } = await this.call(() => this.api.POST('/api/v1/stations', { body }), false);
    return required(data, response);
  }

  async listStations(): Promise<Station[]> {
    const { data, response } = await this.call(() => this.api.GET('/api/v1/stations'), true);
    return required(data, response);
  }

  /** Creates a user with roles; 409 username_taken if the name is used. */
  async createUser(body: CreateUserRequest): Promise<User> {
    const { data, response } = await this.call(() => this.api.POST('/api/v1/users', { body }), false);
    return required(data, response);
  }

  private call<Data>(send: () => Promise<CallOutcome<Data>>, retry: boolean) {
    return callApi(this.baseUrl, send, retry ? this.retry : false);
  }
}
