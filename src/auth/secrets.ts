import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import argon2 from 'argon2';

/** Prefixes tell a user's session token from a station's API key at a glance (and in leaked-secret scanners). */
export const USER_TOKEN_PREFIX = 'niixu_';
export const STATION_KEY_PREFIX = 'niixs_';
export const WEBHOOK_SECRET_PREFIX = 'niixw_';

/** Password hashing and random secrets: the one place that knows how secrets are made and kept. */
@Injectable()
export class Secrets {
  hashPassword(password: string): Promise<string> {
    return argon2.hash(password, { type: argon2.argon2id });
  }

  async verifyPassword(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
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
