import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { rawProfileSchema, type RawProfile } from './raw-profile.schema.js';

/** A profile file that cannot be used; the message names the file and, when validation failed, the field. */
export class RawProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RawProfileError';
  }
}

/**
 * Reads and validates every `*.json` profile in the given folders (sorted by file name, folder by folder).
 * Throws RawProfileError at the first unreadable or invalid file, or when two files share an id.
 */
export function loadProfiles(dirs: string[]): RawProfile[] {
  const profiles: RawProfile[] = [];
  const seen = new Map<string, string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((name) => name.endsWith('.json')).sort();
    } catch (error) {
      throw new RawProfileError(`cannot read the raw profile folder ${dir}: ${(error as Error).message}`);
    }
    for (const name of names) {
      const file = join(dir, name);
      const profile = parseProfile(readFileSync(file, 'utf8'), file);
      const previous = seen.get(profile.id);
      if (previous) throw new RawProfileError(`raw profile ${file}: id "${profile.id}" is already used by ${previous}`);
      seen.set(profile.id, file);
      profiles.push(profile);
    }
  }
  return profiles;
}

/** Parses and validates one profile's JSON text; `source` names it in errors. */
export function parseProfile(text: string, source: string): RawProfile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new RawProfileError(`raw profile ${source} is not valid JSON: ${(error as Error).message}`);
  }
  const result = rawProfileSchema.safeParse(json);
  if (!result.success) throw new RawProfileError(`raw profile ${source} is invalid: ${describeIssues(result.error)}`);
  return result.data;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `field "${issue.path.length ? issue.path.join('.') : '(root)'}": ${issue.message}`)
    .join('; ');
}
