import { createHmac, timingSafeEqual } from 'node:crypto';

/** A station should refuse a webhook whose `t` is further than this from its clock (replay protection). */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * The `X-Niix-Signature` header of a webhook: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
 * station's webhook secret. `body` is the exact request body (the JSON text as sent).
 */
export function signWebhook(secret: string, body: string, t: number): string {
  const mac = createHmac('sha256', secret).update(`${t}.${body}`).digest('hex');
  return `t=${t},v1=${mac}`;
}

/** What a station does with the header: true when it was signed with the secret within the tolerance of `now`. */
export function verifyWebhook(secret: string, body: string, header: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  const parts = Object.fromEntries(header.split(',').map((part) => part.split('=', 2) as [string, string]));
  const t = Number(parts.t);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > WEBHOOK_TOLERANCE_SECONDS || typeof parts.v1 !== 'string') return false;
  const expected = Buffer.from(signWebhook(secret, body, t).split('v1=')[1], 'hex');
  const given = Buffer.from(parts.v1, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
