import createClient from 'openapi-fetch';
import type { components, paths } from '../../libs/station-client/src/openapi.generated';

export type Role = 'admin' | 'supervisor' | 'analyst' | 'trainer' | 'trainee';
export type Schemas = components['schemas'];
export type Paths = paths;

export interface Session {
  token: string;
  username: string;
  roles: Role[];
  expiresAt: string;
}

const SESSION_KEY = 'niix.session';

/** The signed-in person, per browser tab (sessionStorage): two tabs may hold two different analysts. */
export function currentSession(): Session | null {
  const raw = sessionStorage.getItem(SESSION_KEY);
  if (!raw) return null;
  const session = JSON.parse(raw) as Session;
  return new Date(session.expiresAt).getTime() > Date.now() ? session : null;
}

export function saveSession(session: Session | null): void {
  if (session) sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
  else sessionStorage.removeItem(SESSION_KEY);
}

export function authHeader(): Record<string, string> {
  const session = currentSession();
  return session ? { Authorization: `Bearer ${session.token}` } : {};
}

/** An API refusal: HTTP status plus niix's machine-readable code and human sentence. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onUnauthorized: () => void = () => undefined;
export function whenSignedOut(handler: () => void): void {
  onUnauthorized = handler;
}

/** The typed client of the niix API (types generated from docs/openapi.json), same origin, bearer token added. */
export const api = createClient<paths>({ baseUrl: location.origin });
api.use({
  onRequest({ request }) {
    const session = currentSession();
    if (session && !request.headers.has('authorization')) request.headers.set('authorization', `Bearer ${session.token}`);
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && !request.url.endsWith('/auth/login')) onUnauthorized();
    return response;
  },
});

/** Unwraps an openapi-fetch result: the data, or an ApiFailure with the niix error code. */
export async function call<T>(pending: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await pending;
  } catch (error) {
    throw new ApiFailure(0, 'network_error', `the service cannot be reached (${error instanceof Error ? error.message : String(error)})`);
  }
  if (result.response.ok) return result.data as T;
  const body = result.error as { error?: { code?: string; message?: string } } | undefined;
  throw new ApiFailure(result.response.status, body?.error?.code ?? `http_${result.response.status}`, body?.error?.message ?? result.response.statusText);
}
