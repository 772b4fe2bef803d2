import { Inject, Injectable, Logger } from '@nestjs/common';
import { z } from 'zod';
import { APP_CONFIG, type AppConfig } from '../config/config.js';
import { ApiError } from '../common/api-error.js';
import { Clock } from '../common/clock.js';
import { StationRepository } from '../stations/station.repository.js';
import { type Principal, ROLES, type Role } from './roles.js';
import { STATION_KEY_PREFIX, Secrets, USER_TOKEN_PREFIX } from './secrets.js';
import { UserRepository } from './user.repository.js';

export const loginBody = z.object({ username: z.string().min(1).max(100), password: z.string().min(1).max(500) });
export const loginResponse = z.object({ token: z.string(), expiresAt: z.string(), roles: z.array(z.enum(ROLES)) });

export const createUserBody = z.object({
  username: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, 'lower-case letters, digits, dot, dash or underscore, 2 to 63 characters'),
  password: z.string().min(10, 'at least 10 characters').max(500),
  roles: z.array(z.enum(ROLES)).min(1),
});
export const userResponse = z.object({ id: z.string(), username: z.string(), roles: z.array(z.enum(ROLES)) });

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly users: UserRepository,
    private readonly stations: StationRepository,
    private readonly secrets: Secrets,
    private readonly clock: Clock,
  ) {}

  /**
   * Creates `admin` on the first start, with NIIX_ADMIN_PASSWORD or a generated password. Returns the generated
   * password, which the caller shows the operator once, outside the log (a secret is never written to the log).
   */
  async ensureFirstAdmin(): Promise<string | undefined> {
    if ((await this.users.count()) > 0) return undefined;
    const password = this.config.adminPassword ?? this.secrets.generatePassword();
    await this.users.insert({
      id: this.clock.newId(),
      username: 'admin',
      passwordHash: await this.secrets.hashPassword(password),
      roles: ['admin'],
    });
    if (this.config.adminPassword) {
      this.logger.log('created the first administrator "admin" with the password from NIIX_ADMIN_PASSWORD');
      return undefined;
    }
    this.logger.warn('created the first administrator "admin" with a generated password, printed once on standard error outside the log; change it');
    return password;
  }

  async login(body: z.infer<typeof loginBody>): Promise<z.infer<typeof loginResponse>> {
    const user = await this.users.findByUsername(body.username);
    if (!user || !(await this.secrets.verifyPassword(user.passwordHash, body.password))) {
      throw ApiError.unauthorized('wrong username or password');
    }
    const token = this.secrets.generate(USER_TOKEN_PREFIX);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + this.config.sessionHours * 3600_000);
    await this.users.insertSession({ id: this.clock.newId(), userId: user.id, tokenHash: this.secrets.digest(token), expiresAt });
    return { token, expiresAt: expiresAt.toISOString(), roles: user.roles as Role[] };
  }

  async createUser(body: z.infer<typeof createUserBody>): Promise<z.infer<typeof userResponse>> {
    const id = this.clock.newId();
    const roles = [...new Set(body.roles)];
    const inserted = await this.users.insert({
      id,
      username: body.username,
      passwordHash: await this.secrets.hashPassword(body.password),
      roles,
    });
    if (!inserted) throw ApiError.conflict('username_taken', `the username ${body.username} is taken`);
    return { id, username: body.username, roles };
  }

  async listUsers(): Promise<z.infer<typeof userResponse>[]> {
    return (await this.users.list()).map((user) => ({ id: user.id, username: user.username, roles: user.roles as Role[] }));
  }

  /** The principal a bearer token stands for, or null. */
  async authenticate(token: string): Promise<Principal | null> {
    if (token.startsWith(USER_TOKEN_PREFIX)) {
      const user = await this.users.findUserBySessionToken(this.secrets.digest(token), this.clock.now());
      return user ? { kind: 'user', id: user.id, username: user.username, roles: user.roles as Role[] } : null;
    }
    if (token.startsWith(STATION_KEY_PREFIX)) {
      const station = await this.stations.findByApiKeyHash(this.secrets.digest(token));
      return station ? { kind: 'station', id: station.id, name: station.name } : null;
    }
    return null;
  }
}
