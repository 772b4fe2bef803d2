import { SNIFF_BYTES, type ScannerAdapter, type SniffResult } from './adapter.js';

/** One uploaded file as seen while it streams in: its name and its first SNIFF_BYTES bytes (fewer if shorter). */
export interface SniffedFile {
  name: string;
  head: Uint8Array;
}

/**
 * The adapters the service knows, in priority order. `identify` picks the one adapter that takes all the
 * files of an upload; the service turns `unrecognised` into HTTP 415 while the upload is still streaming.
 */
export class AdapterRegistry {
  private readonly adapters: ScannerAdapter[];

  constructor(adapters: ScannerAdapter[]) {
    const ids = new Set<string>();
    for (const adapter of adapters) {
      if (ids.has(adapter.id)) throw new Error(`two scanner adapters share the id ${adapter.id}`);
      ids.add(adapter.id);
    }
    this.adapters = [...adapters];
  }

  /** All adapters, in registration (priority) order. */
  list(): ScannerAdapter[] {
    return [...this.adapters];
  }

  /** The adapter with this id (e.g. the one recorded at upload, when the convert job runs). */
  get(id: string): ScannerAdapter | undefined {
    return this.adapters.find((adapter) => adapter.id === id);
  }

  /**
   * The first adapter, in registration order, that sniffs every file as 'primary' or 'companion' with at
   * least one 'primary'. Otherwise `unrecognised` names the files to blame: those no adapter accepts at all;
   * or, when each file is someone's but no adapter takes them all, those the best candidate (most files
   * accepted, a primary among them) does not take; or every file when all are companions without an image.
   */
  identify(files: SniffedFile[]): { adapter: ScannerAdapter } | { unrecognised: string[] } {
    if (files.length === 0) return { unrecognised: [] };
    const verdicts = this.adapters.map((adapter) => files.map((file) => sniffSafely(adapter, file)));
    for (const [i, adapter] of this.adapters.entries()) {
      const results = verdicts[i];
      if (results.every((r) => r !== null) && results.includes('primary')) return { adapter };
    }
    const nobody = files.filter((_, f) => verdicts.every((results) => results[f] === null)).map((file) => file.name);
    if (nobody.length > 0) return { unrecognised: nobody };
    let best: SniffResult[] | undefined;
    let bestCount = 0;
    for (const results of verdicts) {
      const count = results.filter((r) => r !== null).length;
      if (results.includes('primary') && count > bestCount) {
        best = results;
        bestCount = count;
      }
    }
    if (!best) return { unrecognised: files.map((file) => file.name) };
    const chosen = best;
    return { unrecognised: files.filter((_, f) => chosen[f] === null).map((file) => file.name) };
  }

  /**
   * Per-part decision during upload: the adapters (in priority order) that take this one file, and how. An
   * empty list means no adapter can use the file, so the upload can be refused before it ends.
   */
  identifyOne(head: Uint8Array, name: string): { adapter: ScannerAdapter; result: 'primary' | 'companion' }[] {
    const matches: { adapter: ScannerAdapter; result: 'primary' | 'companion' }[] = [];
    for (const adapter of this.adapters) {
      const result = sniffSafely(adapter, { name, head });
      if (result !== null) matches.push({ adapter, result });
    }
    return matches;
  }
}

/** `sniff` must not throw; one that does is treated as "not mine" rather than failing the upload. */
function sniffSafely(adapter: ScannerAdapter, file: SniffedFile): SniffResult {
  try {
    return adapter.sniff(file.head.length > SNIFF_BYTES ? file.head.subarray(0, SNIFF_BYTES) : file.head, file.name);
  } catch {
    return null;
  }
}
