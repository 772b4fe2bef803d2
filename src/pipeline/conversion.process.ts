import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import type { FromChild, ToChild } from './conversion.child.js';
import type { ConversionOutcome, ConversionTask, RenderingTask } from './conversion.js';
import type { RenderedView } from '../scans/render-views.js';

/** A conversion took more memory than NIIX_CONVERT_MEMORY allows: its process was stopped. */
export class ConversionMemoryError extends Error {
  constructor(readonly limitBytes: number) {
    super(`the conversion took more than ${Math.round(limitBytes / 1024 ** 2)} MB and was stopped`);
    this.name = 'ConversionMemoryError';
  }
}

/** The conversion process died without an answer (a crash of native code, or killed from outside). */
export class ConversionProcessDiedError extends Error {
  constructor(how: string) {
    super(`the conversion process ended ${how} before answering`);
    this.name = 'ConversionProcessDiedError';
  }
}

/** How often the resident size of a busy conversion process is read. */
const MEMORY_CHECK_MS = 25;
/** A process left this large by a conversion is replaced rather than kept for the next one. */
const RECYCLE_FRACTION = 0.5;

/** The built child (dist/…/conversion.child.js) or, when niix runs from its TypeScript sources (tests), the source through tsx. */
function childEntry(): { file: string; execArgv: string[] } {
  const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url);
  const fromSources = here.endsWith('.ts');
  return {
    file: path.join(path.dirname(here), fromSources ? 'conversion.child.ts' : 'conversion.child.js'),
    execArgv: fromSources ? ['--import', 'tsx'] : [],
  };
}

/** Resident set size of a process in bytes (Linux /proc), or undefined when it cannot be read. */
function residentBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface ConversionResult {
  outcome: ConversionOutcome;
  /** Largest resident size of the conversion process seen during this conversion. */
  peakBytes: number;
}

export interface RenderingResult {
  rendered: RenderedView[];
  peakBytes: number;
}

/**
 * Conversions run in child processes, one scan per process at a time, so that decoding hostile or huge files can
 * neither stall the service's event loop nor take its memory: a process whose resident size passes
 * NIIX_CONVERT_MEMORY is killed and the conversion fails with ConversionMemoryError. Idle processes are kept for
 * the next scan (starting one costs the adapters' start-up), at most NIIX_CONVERT_CONCURRENCY of them.
 */
@Injectable()
export class ConversionProcesses implements OnModuleDestroy {
  private readonly logger = new Logger(ConversionProcesses.name);
  private readonly idle: ChildProcess[] = [];
  private readonly running = new Set<ChildProcess>();
  private closing = false;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  async convert(task: ConversionTask): Promise<ConversionResult> {
    const { result, peakBytes } = await this.inProcess({ kind: 'convert', task });
    return { outcome: result as ConversionOutcome, peakBytes };
  }

  /** RenderScan's work: a stored package's planes → viewer images, in a conversion process as well. */
  async render(task: RenderingTask): Promise<RenderingResult> {
    const { result, peakBytes } = await this.inProcess({ kind: 'render', task });
    return { rendered: result as RenderedView[], peakBytes };
  }

  private async inProcess(message: Extract<ToChild, { kind: 'convert' | 'render' }>): Promise<{ result: unknown; peakBytes: number }> {
    if (this.closing) throw new Error('the service is stopping');
    const child = this.idle.pop() ?? (await this.start());
    this.running.add(child);
    try {
      const result = await this.run(child, message);
      if (result.peakBytes > this.config.convertMemoryBytes * RECYCLE_FRACTION || this.closing) child.kill('SIGKILL');
      else this.idle.push(child);
      return result;
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    } finally {
      this.running.delete(child);
    }
  }

  onModuleDestroy(): void {
    this.closing = true;
    for (const child of [...this.idle, ...this.running]) child.kill('SIGKILL');
    this.idle.length = 0;
  }

  private start(): Promise<ChildProcess> {
    const { file, execArgv } = childEntry();
    const heapMb = Math.max(64, Math.round(this.config.convertMemoryBytes / 1024 ** 2));
    const child = fork(file, [], {
      execArgv: [...execArgv, `--max-old-space-size=${heapMb}`],
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    return new Promise<ChildProcess>((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null) => {
        reject(new ConversionProcessDiedError(signal ? `by ${signal}` : `with code ${code}`));
      };
      child.once('exit', onExit);
      child.once('error', reject);
      child.once('message', (message: FromChild) => {
        child.off('exit', onExit);
        child.off('error', reject);
        if (message.kind === 'ready') resolve(child);
        else {
          child.kill('SIGKILL');
          reject(new Error(`the conversion process did not start: ${message.kind === 'fault' ? message.message : message.kind}`));
        }
      });
      child.send({ kind: 'start', profileDirs: this.config.profileDirs } satisfies ToChild);
    });
  }

  private run(child: ChildProcess, message: ToChild): Promise<{ result: unknown; peakBytes: number }> {
    const limit = this.config.convertMemoryBytes;
    return new Promise((resolve, reject) => {
      let peakBytes = residentBytes(child.pid!) ?? 0;
      let overLimit = false;
      const watch = setInterval(() => {
        const bytes = residentBytes(child.pid!);
        if (bytes === undefined) return;
        peakBytes = Math.max(peakBytes, bytes);
        if (bytes > limit && !overLimit) {
          overLimit = true;
          child.kill('SIGKILL');
        }
      }, MEMORY_CHECK_MS);
      const settle = (end: () => void) => {
        clearInterval(watch);
        child.off('message', onMessage);
        child.off('exit', onExit);
        end();
      };
      const onMessage = (answer: FromChild) => {
        if (answer.kind === 'done') settle(() => resolve({ result: answer.result, peakBytes }));
        else if (answer.kind === 'fault') {
          const fault = new Error(answer.message);
          if (answer.stack) fault.stack = answer.stack;
          settle(() => reject(fault));
        }
      };
      const onExit = (code: number | null, signal: string | null) => {
        settle(() => {
          if (overLimit) reject(new ConversionMemoryError(limit));
          else if (this.closing) reject(new Error('the service stopped during the conversion'));
          else reject(new ConversionProcessDiedError(signal ? `by ${signal}` : `with code ${code}`));
        });
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(message);
    });
  }
}
