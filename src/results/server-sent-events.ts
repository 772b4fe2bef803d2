import type { ServerResponse } from 'node:http';
import type { ResultBody } from './result-body.js';
import type { ResultSink } from './results.service.js';

/** Writes results to an HTTP response as server-sent events: `id: <resultId>`, `event: result`, `data: <json>`. */
export class ServerSentEvents implements ResultSink {
  constructor(private readonly response: ServerResponse) {}

  open(): void {
    this.response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no', // nginx: do not buffer the stream
    });
    this.response.write('retry: 2000\n\n');
  }

  /** Resolves once the event is handed to the socket (waits when the client reads slowly). */
  send(result: ResultBody): Promise<void> | void {
    if (this.response.writableEnded || this.response.destroyed) return;
    const flushed = this.response.write(`id: ${result.resultId}\nevent: result\ndata: ${JSON.stringify(result)}\n\n`);
    if (flushed) return;
    return new Promise((resolve) => {
      const done = () => {
        this.response.off('drain', done);
        this.response.off('close', done);
        resolve();
      };
      this.response.on('drain', done);
      this.response.on('close', done);
    });
  }

  ping(): void {
    if (!this.response.writableEnded && !this.response.destroyed) this.response.write(': ping\n\n');
  }

  end(): void {
    if (!this.response.writableEnded) this.response.end();
  }
}
