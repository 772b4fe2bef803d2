import { Injectable } from '@nestjs/common';

/** Outbound HTTP of webhooks: one POST, its status; a timeout or network fault rejects. */
@Injectable()
export class WebhookTransport {
  async post(url: string, body: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number }> {
    const response = await fetch(url, { method: 'POST', body, headers, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel().catch(() => undefined); // the answer's body is not used
    return { status: response.status };
  }
}
