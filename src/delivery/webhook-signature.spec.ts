import { createHmac } from 'node:crypto';
import { WEBHOOK_TOLERANCE_SECONDS, signWebhook, verifyWebhook } from './webhook-signature.js';

const SECRET = 'niixw_test-secret';
const BODY = '{"resultId":"42","kind":"verdict"}';
const T = 1_740_823_200;

describe('signWebhook', () => {
  it('is t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const expected = createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex');
    expect(signWebhook(SECRET, BODY, T)).toBe(`t=${T},v1=${expected}`);
    expect(signWebhook(SECRET, BODY, T)).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('changes with the body, the time and the secret', () => {
    const base = signWebhook(SECRET, BODY, T);
    expect(signWebhook(SECRET, `${BODY} `, T)).not.toBe(base);
    expect(signWebhook(SECRET, BODY, T + 1)).not.toBe(base);
    expect(signWebhook('niixw_other', BODY, T)).not.toBe(base);
  });
});

describe('verifyWebhook', () => {
  const header = signWebhook(SECRET, BODY, T);

  it('accepts the signature within the tolerance', () => {
    expect(verifyWebhook(SECRET, BODY, header, T)).toBe(true);
    expect(verifyWebhook(SECRET, BODY, header, T + WEBHOOK_TOLERANCE_SECONDS)).toBe(true);
  });

  it('refuses a replay older than the tolerance, a changed body, another secret and garbage', () => {
    expect(verifyWebhook(SECRET, BODY, header, T + WEBHOOK_TOLERANCE_SECONDS + 1)).toBe(false);
    expect(verifyWebhook(SECRET, BODY.replace('verdict', 'failure'), header, T)).toBe(false);
    expect(verifyWebhook('niixw_other', BODY, header, T)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, 'v1=abc', T)).toBe(false);
    expect(verifyWebhook(SECRET, BODY, `t=${T},v1=00`, T)).toBe(false);
  });
});
