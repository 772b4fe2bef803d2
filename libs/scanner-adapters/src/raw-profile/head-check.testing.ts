import { CHECK_BYTES, ConversionError, type ConversionLimits, type ScannerAdapter, type UploadedFileHead } from '../adapter.js';

/** Test helpers for `ScannerAdapter.check`: heads as the service builds them, outcomes, and a quick fuzz. */

export interface FileBytes {
  name: string;
  data: Uint8Array;
}

/** The file as check sees it: its first CHECK_BYTES bytes; `size` defaults to the data's length. */
export function headOf(file: FileBytes, size = file.data.length): UploadedFileHead {
  return { name: file.name, size, head: file.data.subarray(0, Math.min(CHECK_BYTES, file.data.length, size)) };
}

/** Runs check; returns the ConversionError it threw, or undefined. Anything else fails the test. */
export function checkOutcome(adapter: ScannerAdapter, files: UploadedFileHead[], limits: ConversionLimits): ConversionError | undefined {
  if (!adapter.check) throw new Error(`${adapter.id} has no check`);
  try {
    adapter.check(files, limits);
    return undefined;
  } catch (error) {
    if (error instanceof ConversionError) return error;
    throw error;
  }
}

/** mulberry32: a small seeded generator, so a failing fuzz case can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Calls check on `runs` damaged uploads made from the valid ones given: one file of the upload replaced by random
 * bytes, cut short (with its true or its short size), given a wrong size, or with a few bytes changed in its
 * first 4 KB. Fails on any throw that is not a ConversionError; returns how many runs check refused.
 */
export function fuzzCheck(adapter: ScannerAdapter, uploads: FileBytes[][], limits: ConversionLimits, runs = 300, seed = 1): number {
  const next = random(seed);
  const int = (n: number): number => Math.floor(next() * n);
  let refused = 0;
  for (let run = 0; run < runs; run++) {
    const upload = uploads[int(uploads.length)];
    const target = int(upload.length);
    const original = upload[target].data;
    let data: Uint8Array;
    let size: number | undefined;
    switch (run % 5) {
      case 0:
        data = Uint8Array.from({ length: int(3000) }, () => int(256));
        break;
      case 1:
        data = original.subarray(0, int(Math.min(original.length, CHECK_BYTES + 1)));
        break;
      case 2:
        data = original.subarray(0, int(Math.min(original.length, CHECK_BYTES + 1)));
        size = original.length;
        break;
      case 3:
        data = original;
        size = int(original.length * 2 + 1);
        break;
      default: {
        data = original.slice(0, CHECK_BYTES);
        size = original.length;
        const changes = 1 + int(8);
        for (let i = 0; i < changes && data.length > 0; i++) data[int(Math.min(data.length, 4096))] = int(256);
      }
    }
    const files = upload.map((file, i) => (i === target ? headOf({ name: file.name, data }, size ?? data.length) : headOf(file)));
    try {
      if (checkOutcome(adapter, files, limits)) refused++;
    } catch (error) {
      throw new Error(`fuzz run ${run} (seed ${seed}, file ${upload[target].name}): check threw ${String(error)}`);
    }
  }
  return refused;
}
