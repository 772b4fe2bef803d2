import path from 'node:path';
import { DicosAdapter } from './dicos/dicos.adapter.js';
import { ImageAdapter } from './image/image.adapter.js';
import { NiixBundleAdapter } from './niix-bundle/niix-bundle.adapter.js';
import { RawProfileAdapter } from './raw-profile/raw-profile.adapter.js';
import { loadProfiles } from './raw-profile/raw-profile.loader.js';
import { AdapterRegistry } from './registry.js';
import { TiffSidecarAdapter } from './tiff-sidecar/tiff-sidecar.adapter.js';

export * from './adapter.js';
export { AdapterRegistry } from './registry.js';

/** The raw profiles that ship with niix (two example vendor layouts). */
export const BUILT_IN_PROFILE_DIR = path.resolve(process.cwd(), 'libs/scanner-adapters/profiles');

/**
 * Every adapter, in sniffing priority: formats with strong magic first, the generic image adapter last.
 * Raw profiles come from the built-in folder plus `profileDirs` (a new scanner = a new profile file).
 */
export function createAdapterRegistry(profileDirs: string[] = []): AdapterRegistry {
  const profiles = loadProfiles([BUILT_IN_PROFILE_DIR, ...profileDirs]);
  return new AdapterRegistry([
    new NiixBundleAdapter(),
    new DicosAdapter(),
    new TiffSidecarAdapter(),
    ...profiles.map((profile) => new RawProfileAdapter(profile)),
    new ImageAdapter(),
  ]);
}
