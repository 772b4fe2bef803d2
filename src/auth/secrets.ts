import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Algorithm, hash, verify } from '@node-rs/argon2';

/** Prefixes tell a user's session token from a station's API key at a glance (and in leaked-secret scanners). */
export const USER_TOKEN_PREFIX = 'niixu_';
export const STATION_KEY_PREFIX = 'niixs_';
export const WEBHOOK_SECRET_PREFIX = 'niixw_';

/** argon2id, 64 MiB, 3 passes, 4 lanes: the parameters of every hash stored so far. */
const PASSWORD_HASH_COST = { algorithm: Algorithm.Argon2id, memoryCost: 65536, timeCost: 3, parallelism: 4 } as const;

/** Password hashing and random secrets: the one place that knows how secrets are made and kept. */
@Injectable()
export class Secrets {
  /** argon2id as a PHC string, with the cost the service has always used (hashes from before still verify). */
  hashPassword(password: string): Promise<string> {
    return hash(password, PASSWORD_HASH_COST);
  }

  async verifyPassword(stored: string, password: string): Promise<boolean> {
    try {
      return await verify(stored, password);
    } catch {
      return false;
    }
  }

  /** A new random secret with the given prefix (256 bits). */
  generate(prefix: string): string {
    return `${prefix}${randomBytes(32).toString('base64url')}`;
  }

  /** A readable one-time password for the first administrator. */
  generatePassword(): string {
    return randomBytes(15).toString('base64url');
  }

  /** High-entropy tokens and keys are stored as their sha-256: fast to look up, useless if leaked. */
  digest(secret: string): string {
    return createHash('sha256').update(secret).digest('hex');
  }
}
