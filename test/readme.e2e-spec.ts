import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../src/common/free-port.js';
import { deleteRedisKeys } from './redis.js';
import { until } from './until.js';

/**
 * The newcomer's first steps, taken literally: the README's quick-start install-and-start command runs in a clean
 * copy of the repository (the files git knows, nothing built, no node_modules), the service starts on its embedded
 * defaults and prints the first administrator's password, and the README's demo command sends 15 scans from three
 * stations that must all become queued. Only the port, the Redis key prefix and the demo's scan size are set from
 * outside (so the test runs beside others and stays small).
 */

const README = readFileSync(path.resolve('README.md'), 'utf8');
const REDIS_URL = process.env.NIIX_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The commands of the README's quick start block, without their comments. */
function quickStartCommands(): { start: string; test: string; demo: string } {
  const section = README.split(/^## /m).find((part) => part.startsWith('Quick start'));
  if (!section) throw new Error('README.md has no "## Quick start" section');
  const blocks = [...section.matchAll(/```\n([\s\S]*?)```/g)].map((match) => match[1].trim().split('\n').map((line) => line.replace(/\s+#.*$/, '').trim()));
  const [install, demo] = blocks;
  if (!install || install.length !== 2 || !demo || demo.length !== 1) {
    throw new Error('the quick start must be one block of two commands (install and run, test) and one demo command');
  }
  return { start: install[0], test: install[1], demo: demo[0] };
}

/** The repository as a fresh clone of this work tree would have it: the files git tracks or would track. */
function cleanCopy(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'niix-readme-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' }).split('\0').filter(Boolean);
  for (const file of files) {
    const target = path.join(dir, file);
    mkdirSync(path.dirname(target), { recursive: true });
    try {
      copyFileSync(file, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // deleted but not yet staged
    }
  }
  return dir;
}

interface Shell {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

function shell(command: string, cwd: string, env: Record<string, string>): Shell {
  // Its own process group, so that npm, its shell and node are stopped together.
  const child = spawn('bash', ['-c', command], { cwd, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-200_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function stop(process_: Shell): Promise<void> {
  if (process_.child.exitCode !== null || process_.child.signalCode !== null) return;
  try {
    process.kill(-process_.child.pid!, 'SIGTERM');
  } catch {
    return;
  }
  await process_.exited;
}

describe('README quick start', () => {
  const commands = quickStartCommands();
  const prefix = `niixreadme${randomBytes(4).toString('hex')}`;
  let dir: string;
  let service: Shell | undefined;

  afterAll(async () => {
    if (service) await stop(service);
    await deleteRedisKeys(REDIS_URL, `${prefix}:*`);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('names the commands a newcomer runs', () => {
    expect(commands.start).toMatch(/^npm (ci|install)\b.*&& npm start$/);
    expect(commands.test).toBe('npm test');
    expect(commands.demo).toMatch(/^npm run demo\b/);
  });

  it('installs and starts on the embedded defaults, signs in, and the demo gets 15 of 15 scans queued', async () => {
    dir = cleanCopy();
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const env = { PORT: String(port), HOST: '127.0.0.1', NIIX_REDIS_PREFIX: prefix, NIIX_LOG_LEVEL: 'log' };
    service = shell(commands.start, dir, env);
    const started = service;
    await until(
      async () => {
        if (started.child.exitCode !== null) throw new Error(`\`${commands.start}\` exited with ${started.child.exitCode}:\n${started.output().slice(-4000)}`);
        return fetch(`${url}/health/ready`).then((response) => response.status === 200).catch(() => false);
      },
      `the service from \`${commands.start}\` to be ready`,
      300_000,
    );

    const password = /the password (\S+) \(shown once/.exec(started.output())?.[1];
    if (!password) throw new Error(`the first start printed no admin password:\n${started.output().slice(-4000)}`);
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password }),
    });
    expect(login.status).toBe(200);

    const demo = shell(`${commands.demo.replace('<the admin password>', password)} --size 480x160`, dir, { NIIX_URL: url });
    const code = await demo.exited;
    if (code !== 0) throw new Error(`\`${commands.demo}\` exited with ${code}:\n${demo.output().slice(-4000)}`);
    expect(demo.output()).toMatch(/^15\/15 queued, 0 failed/m);
  }, 600_000);
});
