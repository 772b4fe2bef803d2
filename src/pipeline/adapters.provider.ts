import type { Provider } from '@nestjs/common';
import { createAdapterRegistry } from '../../libs/scanner-adapters/src/index.js';
import { APP_CONFIG, type AppConfig, ConfigError } from '../config/config.js';

/** Injection token of the AdapterRegistry (built-in adapters plus raw profiles from NIIX_PROFILE_DIRS). */
export const ADAPTER_REGISTRY = Symbol('ADAPTER_REGISTRY');

export const adapterRegistryProvider: Provider = {
  provide: ADAPTER_REGISTRY,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig) => {
    try {
      return createAdapterRegistry(config.profileDirs);
    } catch (error) {
      throw new ConfigError((error as Error).message);
    }
  },
};
