import { createAdapterRegistry } from '../../libs/scanner-adapters/src/index.js';
import type { AdapterRegistry } from '../../libs/scanner-adapters/src/registry.js';
import { type ConversionOutcome, type ConversionTask, type RenderingTask, runConversion, runRendering } from './conversion.js';
import type { RenderedView } from '../scans/render-views.js';

/**
 * A conversion process: started by ConversionProcesses (conversion.process.ts) with an IPC channel, it converts
 * one scan at a time and answers with the outcome. It ends with its parent (the channel closes).
 *   parent → { kind: 'start', profileDirs }            once
 *   parent → { kind: 'convert', task } | { kind: 'render', task }      one at a time
 *   child  → { kind: 'ready' } | { kind: 'done', result } | { kind: 'fault', message, stack }
 */
export type ToChild = { kind: 'start'; profileDirs: string[] } | { kind: 'convert'; task: ConversionTask } | { kind: 'render'; task: RenderingTask };
export type FromChild = { kind: 'ready' } | { kind: 'done'; result: ConversionOutcome | RenderedView[] } | { kind: 'fault'; message: string; stack?: string };

let adapters: AdapterRegistry | undefined;

function send(message: FromChild): void {
  process.send?.(message);
}

process.on('disconnect', () => process.exit(0));
process.on('message', (message: ToChild) => {
  if (message.kind === 'start') {
    try {
      adapters = createAdapterRegistry(message.profileDirs);
      send({ kind: 'ready' });
    } catch (error) {
      send({ kind: 'fault', message: (error as Error).message });
    }
    return;
  }
  if (!adapters) {
    send({ kind: 'fault', message: 'the conversion process was asked to convert before it started' });
    return;
  }
  const work = message.kind === 'convert' ? runConversion(adapters, message.task) : runRendering(message.task);
  work.then(
    (result) => send({ kind: 'done', result }),
    (error: Error) => send({ kind: 'fault', message: error.message, stack: error.stack }),
  );
});
