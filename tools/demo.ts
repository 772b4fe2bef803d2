import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { generateScan } from '../libs/imaging/src/synthetic/index.js';
import { type ScannerInputFormat, writeScannerInput } from '../libs/scanner-adapters/src/scanner-input.writer.js';
import { AdminClient, type Scan, StationApiError, StationClient, StationNetworkError } from '../libs/station-client/src/index.js';

/**
 * The niix demo: three border stations with scanners of three vendors upload generated cargo scans to a running
 * service, with a progress bar, then a table of what became of each scan.
 *
 *   npm run demo -- --url http://127.0.0.1:3000 --admin-password ... --scans 5 --size 2000x640
 */

const DEMO_STATIONS: { name: string; country: string; format: ScannerInputFormat; vendor: string }[] = [
  { name: 'Narva road border (EE)', country: 'EE', format: 'raw:aurora-ax6', vendor: 'Aurora AX6 (raw dual-energy)' },
  { name: 'Terehova (LV)', country: 'LV', format: 'tiff-json', vendor: '16-bit TIFF with JSON sidecar' },
  { name: 'Medininkai (LT)', country: 'LT', format: 'dicos', vendor: 'DICOS' },
];

const USAGE = `usage: npm run demo -- [--url URL] [--admin-password PASSWORD] [--scans N] [--size WxH] [--seed N]
  --url             the running niix service (default $NIIX_URL or http://127.0.0.1:3000)
  --admin-password  password of the user admin (default $NIIX_ADMIN_PASSWORD); needed to register the stations
  --scans           scans per station (default 5)
  --size            width x height of each view (default 2000x640; the benchmarks use 8000x2500)
  --seed            first seed of the synthetic scans (default: a new one each run, so scans are not duplicates)
Station API keys are kept in <NIIX_DATA_DIR or ./data>/demo-stations.json (mode 0600).`;

interface Options {
  url: string;
  adminPassword?: string;
  scans: number;
  width: number;
  height: number;
  seed: number;
}

interface StoredStation {
  id: string;
  apiKey: string;
}

/** demo-stations.json: per service URL, the stations the demo registered there with their API keys. */
type StationFile = Record<string, Record<string, StoredStation>>;

interface Row {
  station: string;
  format: string;
  id: string;
  status: string;
  seconds: string;
}

/** A problem the user can fix; printed as one line without a stack. */
class DemoError extends Error {}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      'admin-password': { type: 'string' },
      scans: { type: 'string' },
      size: { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const url = (values.url ?? process.env.NIIX_URL ?? 'http://127.0.0.1:3000').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]+/.test(url)) throw new DemoError(`--url must be an http or https URL, got ${url}`);
  const scans = Number(values.scans ?? 5);
  if (!Number.isInteger(scans) || scans < 1 || scans > 1000) throw new DemoError(`--scans must be a whole number from 1 to 1000, got ${values.scans}`);
  const size = /^(\d+)x(\d+)$/.exec(values.size ?? '2000x640');
  const [width, height] = size ? [Number(size[1]), Number(size[2])] : [0, 0];
  if (!size || width < 64 || height < 64 || width > 20_000 || height > 10_000) {
    throw new DemoError(`--size must be WIDTHxHEIGHT between 64x64 and 20000x10000, got ${values.size}`);
  }
  const seed = values.seed === undefined ? Date.now() % 1_000_000_000 : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0) throw new DemoError(`--seed must be a whole number, got ${values.seed}`);
  return { url, adminPassword: values['admin-password'] ?? process.env.NIIX_ADMIN_PASSWORD, scans, width, height, seed };
}

async function checkReachable(url: string): Promise<void> {
  try {
    const response = await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new DemoError(`${url} answered ${response.status} to /health/live: is this a niix service?`);
  } catch (error) {
    if (error instanceof DemoError) throw error;
    throw new DemoError(`${new StationNetworkError(url, error).message} (start it with \`npm start\`, or pass --url)`);
  }
}

function stationFilePath(): string {
  return path.resolve(process.env.NIIX_DATA_DIR ?? './data', 'demo-stations.json');
}

function readStationFile(file: string): StationFile {
  if (!existsSync(file)) return {};
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as StationFile;
  } catch (error) {
    throw new DemoError(`${file} is not valid JSON (${(error as Error).message}); delete it to register new demo stations`);
  }
}

function writeStationFile(file: string, stations: StationFile): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(stations, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600); // also when the file existed with wider permissions
}

/** Is this API key still valid on the service? (An unknown scan id answers 404 to a valid key, 401 otherwise.) */
async function keyWorks(url: string, apiKey: string): Promise<boolean> {
  try {
    await new StationClient({ baseUrl: url, apiKey, retry: { attempts: 2 } }).getScan('00000000-0000-0000-0000-000000000000');
    return true;
  } catch (error) {
    if (error instanceof StationApiError && error.status === 404) return true;
    if (error instanceof StationApiError && error.status === 401) return false;
    throw error;
  }
}

/** The demo stations with their API keys: reused from demo-stations.json when still valid, registered otherwise. */
async function ensureStations(options: Options): Promise<Map<string, StoredStation>> {
  const file = stationFilePath();
  const all = readStationFile(file);
  const known = all[options.url] ?? {};
  const result = new Map<string, StoredStation>();
  let admin: AdminClient | undefined;
  for (const station of DEMO_STATIONS) {
    const stored = known[station.name];
    if (stored && (await keyWorks(options.url, stored.apiKey))) {
      result.set(station.name, stored);
      continue;
    }
    if (!admin) {
      if (!options.adminPassword) {
        throw new DemoError(`the demo must register "${station.name}": pass --admin-password or set NIIX_ADMIN_PASSWORD`);
      }
      admin = new AdminClient({ baseUrl: options.url });
      try {
        await admin.login('admin', options.adminPassword);
      } catch (error) {
        if (error instanceof StationApiError && error.status === 401) throw new DemoError(`wrong admin password for ${options.url} (user admin)`);
        throw error;
      }
    }
    try {
      const created = await admin.createStation({ name: station.name, country: station.country, vendor: station.vendor });
      result.set(station.name, { id: created.id, apiKey: created.apiKey });
    } catch (error) {
      if (error instanceof StationApiError && error.code === 'station_name_taken') {
        throw new DemoError(`the station "${station.name}" exists on ${options.url} but its API key is not in ${file}; restore that file or use a fresh NIIX_DATA_DIR for the service`);
      }
      throw error;
    }
    all[options.url] = { ...all[options.url], [station.name]: result.get(station.name)! };
    writeStationFile(file, all);
  }
  return result;
}

function secondsToQueued(scan: Scan): string {
  if (scan.status !== 'queued' || !scan.queuedAt) return '';
  return ((Date.parse(scan.queuedAt) - Date.parse(scan.receivedAt)) / 1000).toFixed(1);
}

function table(rows: Row[]): string {
  const header: Row = { station: 'station', format: 'format', id: 'scan id', status: 'status', seconds: 's to queued' };
  const keys = Object.keys(header) as (keyof Row)[];
  const widths = keys.map((key) => Math.max(...[header, ...rows].map((row) => row[key].length)));
  const line = (row: Row) => keys.map((key, i) => (key === 'seconds' ? row[key].padStart(widths[i]) : row[key].padEnd(widths[i]))).join('  ');
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await checkReachable(options.url);
  const stations = await ensureStations(options);
  const total = DEMO_STATIONS.length * options.scans;
  console.log(
    `niix demo: ${DEMO_STATIONS.length} stations x ${options.scans} scans of ${options.width}x${options.height} (top and side views) to ${options.url}`,
  );

  const bar = new cliProgress.SingleBar(
    {
      format: '{bar} {percentage}% | uploaded {uploaded}/{total} | converted {value}/{total} | failed {failed} | {duration_formatted}',
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 2000,
    },
    cliProgress.Presets.shades_classic,
  );
  const counts = { uploaded: 0, failed: 0 };
  bar.start(total, 0, counts);
  const update = () => bar.update(counts);

  const rows: Row[] = [];
  const waits: Promise<void>[] = [];
  let finished = 0;
  const finish = (failed: boolean) => {
    if (failed) counts.failed += 1;
    finished += 1;
    bar.update(finished, counts);
  };

  // The three stations upload side by side, each its scans one after another; conversions are followed meanwhile.
  await Promise.all(
    DEMO_STATIONS.map(async (station, stationIndex) => {
      const client = new StationClient({ baseUrl: options.url, apiKey: stations.get(station.name)!.apiKey });
      for (let i = 0; i < options.scans; i++) {
        const seed = options.seed + stationIndex * 100_000 + i;
        const row: Row = { station: station.name, format: station.format, id: '-', status: '', seconds: '' };
        rows.push(row);
        try {
          const scan = generateScan({ seed, kind: i % 2 === 0 ? 'container' : 'truck', width: options.width, height: options.height, views: ['top', 'side'] });
          const files = await writeScannerInput(station.format, scan);
          const { containers, licencePlates, declarations, riskScore, declaredGoods } = scan.metadata;
          const uploaded = await client.uploadScan({
            files,
            metadata: { containers, licencePlates, declarations, riskScore, declaredGoods, reference: `demo/${seed}` },
          });
          row.id = uploaded.id;
          counts.uploaded += 1;
          update();
          waits.push(
            client
              .waitForScan(uploaded.id, { timeoutMs: 600_000 })
              .then((done) => {
                row.status = done.status === 'failed' ? `failed: ${done.failure?.code ?? 'unknown'}` : done.status;
                row.seconds = secondsToQueued(done);
                finish(done.status === 'failed');
              })
              .catch((error: Error) => {
                row.status = `error: ${error.message}`;
                finish(true);
              }),
          );
        } catch (error) {
          row.status = error instanceof StationApiError ? `refused ${error.status} ${error.code}` : `error: ${(error as Error).message}`;
          finish(true);
        }
        // Let the progress bar and the pollers run between two (CPU-bound) scan generations.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }),
  );
  await Promise.all(waits);
  bar.stop();

  const order = new Map(DEMO_STATIONS.map((station, index) => [station.name, index]));
  rows.sort((a, b) => order.get(a.station)! - order.get(b.station)!); // stable: each station's scans in upload order
  console.log(`\n${table(rows)}\n`);
  const queued = rows.filter((row) => row.status === 'queued');
  const seconds = queued.map((row) => Number(row.seconds)).sort((a, b) => a - b);
  const median = seconds.length ? seconds[Math.floor(seconds.length / 2)].toFixed(1) : '-';
  console.log(`${queued.length}/${total} queued, ${counts.failed} failed; median ${median} s from upload to queued`);
  console.log(`station API keys: ${stationFilePath()}`);
  if (counts.failed > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  const message =
    error instanceof DemoError || error instanceof StationNetworkError
      ? error.message
      : error instanceof StationApiError
        ? `the service answered ${error.status} ${error.code}: ${error.message}`
        : error instanceof Error
          ? (error.stack ?? error.message)
          : String(error);
  console.error(`demo: ${message}`);
  process.exit(1);
});
