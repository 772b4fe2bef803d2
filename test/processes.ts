import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../src/common/free-port.js';
import { CONFIG_VARIABLES } from '../src/config/config.js';
import { until } from './until.js';

/**
 * The built service run as real OS processes, as an operator runs it: `node dist/src/main.js` with an environment.
 * Used by the end-to-end tests of the deployment (test/topology.e2e-spec.ts) and by the benchmarks (bench/).
 * Paths are relative to the working directory, the repository root, as for the service itself.
 */

const ENTRY = path.join('dist', 'src', 'main.js');
const BUILD_STAMP = path.join('dist', '.build-stamp');
const BUILD_LOCK = path.join('dist', '.build-lock');
/** What tsconfig.build.json compiles (test/ only for the helpers bench imports), and what configures the compiler. */
const SOURCE_DIRS = ['src', 'libs', 'tools', 'bench', 'test'];
const SOURCE_FILES = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
const NOT_BUILT = /\.(spec|int-spec|e2e-spec|testing)\.ts$/;
const OUTPUT_LINES = 200;

let building: Promise<void> | undefined;

/**
 * Makes sure dist/ holds a build of the current sources (tsc -p tsconfig.build.json), once per process. A stamp
 * written after a successful build makes the check cheap (file times only); a lock file makes two jest workers
 * (or two test runs) that ask at once build it once, the other waiting. A build that fails throws with tsc's output.
 */
export function ensureServiceBuilt(): Promise<void> {
  building ??= buildWhenStale().catch((error: unknown) => {
    building = undefined;
    throw error;
  });
  return building;
}

async function buildWhenStale(): Promise<void> {
  const deadline = Date.now() + 5 * 60_000;
  while (!isBuildCurrent()) {
    if (takeBuildLock()) {
      try {
        if (isBuildCurrent()) return; // another process finished between the check and the lock
        const startedAt = new Date();
        await runTsc();
        writeFileSync(BUILD_STAMP, `built by pid ${process.pid}\n`);
        // the stamp carries the time the build started: a source saved during the build makes it stale again
        utimesSync(BUILD_STAMP, startedAt, startedAt);
      } finally {
        rmSync(BUILD_LOCK, { force: true });
      }
      return;
    }
    if (Date.now() > deadline) throw new Error(`dist/ is still being built by another process (${BUILD_LOCK}) after 5 minutes`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function isBuildCurrent(): boolean {
  let built: number;
  try {
    built = statSync(BUILD_STAMP).mtimeMs;
    statSync(ENTRY);
  } catch {
    return false;
  }
  return newestSource() <= built;
}

function newestSource(): number {
  let newest = 0;
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'fixtures') visit(file);
      } else if (entry.name.endsWith('.ts') && !NOT_BUILT.test(entry.name)) {
        newest = Math.max(newest, statSync(file).mtimeMs);
      }
    }
  };
  for (const dir of SOURCE_DIRS) visit(dir);
  for (const file of SOURCE_FILES) newest = Math.max(newest, statSync(file).mtimeMs);
  return newest;
}

/** Creates the lock file holding this pid; clears a lock left by a process that no longer runs. */
function takeBuildLock(): boolean {
  mkdirSync(path.dirname(BUILD_LOCK), { recursive: true });
  try {
    writeFileSync(BUILD_LOCK, String(process.pid), { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  let holder = NaN;
  let age = 0;
  try {
    holder = Number(readFileSync(BUILD_LOCK, 'utf8'));
    age = Date.now() - statSync(BUILD_LOCK).mtimeMs;
  } catch {
    return false; // released meanwhile: the caller checks again
  }
  const stale = Number.isInteger(holder) && holder > 0 ? !isAlive(holder) : age > 10_000;
  if (stale) rmSync(BUILD_LOCK, { force: true });
  return false;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function runTsc(): Promise<void> {
  return new Promise((resolve, reject) => {
    const tsc = spawn(process.execPath, [path.join('node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-8000);
    };
    tsc.stdout.on('data', collect);
    tsc.stderr.on('data', collect);
    tsc.once('error', reject);
    // Exit 2 is "type errors, output written": the JavaScript is what the sources say, as in the jest run (swc,
    // no type check); `npm run typecheck` reports the errors. Exit 1 wrote nothing.
    tsc.once('exit', (code) => (code === 0 || code === 2 ? resolve() : reject(new Error(`tsc -p tsconfig.build.json failed (exit ${code}):\n${output}`))));
  });
}

export interface ServiceProcess {
  /** The label given at start (a compose service and replica, say), used in messages. */
  readonly name: string;
  readonly url: string;
  readonly pid: number;
  /** The environment the service was given: the caller's variables plus PORT and HOST. */
  readonly env: Readonly<Record<string, string>>;
  /** Settles when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** The last lines it wrote to stdout and stderr (stderr lines marked `!`), for error messages. */
  output(): string;
  /** Resolves with the first line of its output matching `pattern` (also one written before the call). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Peak resident memory so far (VmHWM), in bytes. */
  peakRss(): number;
  /** Current resident memory, in bytes. */
  rss(): number;
  /** SIGTERM and wait for the exit (a graceful shutdown); SIGKILL when it takes longer than `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
  /** SIGKILL and wait for the exit: a crash, nothing is cleaned up. */
  kill(): Promise<void>;
}

export interface StartOptions {
  name?: string;
  /** What ready means: 200 from /health/ready (the default; every role serves HTTP), or a line of output. */
  readyWhen?: 'health' | RegExp;
  timeoutMs?: number;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL'); // no service outlives the test process that started it
});

/**
 * Starts `node dist/src/main.js` (build it first: ensureServiceBuilt) on a free port of 127.0.0.1 unless `env`
 * sets PORT and HOST, and waits until it is ready. The service's configuration is exactly `env`: variables of the
 * configuration set in this process's own environment are not passed on. Fails with the service's last output
 * when it exits or is not ready in time.
 */
export async function startServiceProcess(env: Record<string, string>, options: StartOptions = {}): Promise<ServiceProcess> {
  const port = env.PORT ?? String(await freePort());
  const given = { ...env, PORT: port, HOST: env.HOST ?? '127.0.0.1' };
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !CONFIG_VARIABLES.includes(name)));
  const name = options.name ?? 'niix';
  const child = spawn(process.execPath, [ENTRY], { env: { ...inherited, ...given }, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    }),
  );
  const lines: { text: string; stderr: boolean }[] = [];
  const watchers = new Set<(line: string) => void>();
  const follow = (stream: NodeJS.ReadableStream, stderr: boolean) => {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push({ text: line, stderr });
        if (lines.length > OUTPUT_LINES) lines.shift();
        for (const watcher of watchers) watcher(line);
      }
    });
  };
  follow(child.stdout!, false);
  follow(child.stderr!, true);
  const output = () => lines.map((line) => (line.stderr ? `! ${line.text}` : line.text)).join('\n');
  const running = () => child.exitCode === null && child.signalCode === null;
  const failure = (what: string) => new Error(`${name} (pid ${child.pid}) ${what}; its last output:\n${output()}`);

  const waitForLog = (pattern: RegExp, timeoutMs = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const earlier = lines.find((line) => pattern.test(line.text));
      if (earlier) return resolve(earlier.text);
      const done = (settle: () => void) => {
        watchers.delete(watch);
        clearTimeout(timer);
        settle();
      };
      const watch = (line: string) => {
        if (pattern.test(line)) done(() => resolve(line));
      };
      watchers.add(watch);
      const timer = setTimeout(() => done(() => reject(failure(`wrote no line matching ${pattern} within ${timeoutMs} ms`))), timeoutMs);
      void exited.then(({ code, signal }) => done(() => reject(failure(`exited (${signal ?? code}) before writing a line matching ${pattern}`))));
    });

  const kill = async () => {
    if (running()) child.kill('SIGKILL');
    await exited;
  };
  const stop = async (timeoutMs = 30_000) => {
    if (!running()) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  };

  const url = `http://127.0.0.1:${port}`;
  const timeoutMs = options.timeoutMs ?? 60_000;
  try {
    if (options.readyWhen instanceof RegExp) {
      await waitForLog(options.readyWhen, timeoutMs);
    } else {
      await until(
        async () => {
          if (!running()) throw failure(`exited (${child.signalCode ?? child.exitCode}) before it was ready`);
          try {
            return (await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5000) })).status === 200;
          } catch {
            return false; // not listening yet
          }
        },
        `${name} to answer 200 on /health/ready`,
        timeoutMs,
      );
    }
  } catch (error) {
    await kill();
    if (error instanceof Error && error.message.startsWith('timed out')) throw failure(error.message);
    throw error;
  }

  const pid = child.pid!;
  return {
    name,
    url,
    pid,
    env: given,
    exited,
    running,
    output,
    waitForLog,
    peakRss: () => statusField(pid, 'VmHWM'),
    rss: () => statusField(pid, 'VmRSS'),
    stop,
    kill,
  };
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : 0;
}

export interface ProcessRequest {
  token?: string;
  json?: unknown;
  body?: FormData;
}

/** A request to a service process: JSON in (or a form) and JSON out, with an optional bearer token. */
export async function requestProcess<T>(service: Pick<ServiceProcess, 'url'>, method: string, route: string, init: ProcessRequest = {}): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${service.url}${route}`, { method, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : undefined) as T };
}
