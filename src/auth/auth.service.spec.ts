import { Logger } from '@nestjs/common';
import { strictMock, strictValue } from '../../test/strict-mock.js';
import { Clock } from '../common/clock.js';
import type { AppConfig } from '../config/config.js';
import { StationRepository, type StationRow } from '../stations/station.repository.js';
import { AuthService } from './auth.service.js';
import { Secrets } from './secrets.js';
import { UserRepository, type UserRow } from './user.repository.js';
import { refusal } from '../../test/builders.js';

const NOW = new Date('2025-03-01T10:00:00Z');
const ID = '9a8b7c6d-0000-4000-8000-000000000001';

const user: UserRow = { id: 'u-1', username: 'ana', passwordHash: 'hash(ana-password)', roles: ['analyst'], createdAt: NOW };
const stationRow: StationRow = {
  id: 'st-1',
  name: 'Lane 3',
  country: 'NL',
  vendor: null,
  callbackUrl: null,
  apiKeyHash: 'sha(niixs_key)',
  webhookSecret: 'niixw_secret',
  pool: 'central',
  slaSeconds: 600,
  riskLevel: 0,
  createdAt: NOW,
};

describe(AuthService.name, () => {
  let users: jest.Mocked<UserRepository>;
  let stations: jest.Mocked<StationRepository>;
  let secrets: jest.Mocked<Secrets>;
  let log: jest.SpyInstance;
  let warn: jest.SpyInstance;

  beforeEach(() => {
    log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    users = strictMock(UserRepository);
    stations = strictMock(StationRepository);
    secrets = strictMock(Secrets, {
      hashPassword: (password) => Promise.resolve(`hash(${password})`),
      digest: (secret) => `sha(${secret})`,
    });
  });

  afterEach(() => jest.restoreAllMocks());

  function service(config: Partial<AppConfig> = {}): AuthService {
    const clock = strictMock(Clock, { now: () => NOW, newId: () => ID });
    return new AuthService(strictValue<AppConfig>('AppConfig', { adminPassword: undefined, sessionHours: 12, ...config }), users, stations, secrets, clock);
  }

  describe('ensureFirstAdmin', () => {
    it('creates no one when there are users', async () => {
      users.count.mockResolvedValue(1);
      await service({ adminPassword: 'configured-password' }).ensureFirstAdmin();
      expect(log).not.toHaveBeenCalled();
      expect(warn).not.toHaveBeenCalled();
    });

    it('creates admin with the configured password and does not print it', async () => {
      users.count.mockResolvedValue(0);
      users.insert.mockResolvedValue(true);
      await service({ adminPassword: 'configured-password' }).ensureFirstAdmin();
      expect(users.insert).toHaveBeenCalledWith({ id: ID, username: 'admin', passwordHash: 'hash(configured-password)', roles: ['admin'] });
      expect(log).toHaveBeenCalledTimes(1);
      expect(String(log.mock.calls[0][0])).not.toContain('configured-password');
      expect(warn).not.toHaveBeenCalled();
    });

    it('creates admin with a generated password and returns it for the operator, never logging it', async () => {
      users.count.mockResolvedValue(0);
      users.insert.mockResolvedValue(true);
      secrets.generatePassword.mockReturnValue('generated-password');
      expect(await service().ensureFirstAdmin()).toBe('generated-password');
      expect(users.insert).toHaveBeenCalledWith({ id: ID, username: 'admin', passwordHash: 'hash(generated-password)', roles: ['admin'] });
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).not.toContain('generated-password');
      expect(log).not.toHaveBeenCalled();
    });
  });

  describe('login', () => {
    it('answers an unknown user and a wrong password alike with 401', async () => {
      users.findByUsername.mockResolvedValueOnce(undefined).mockResolvedValueOnce(user);
      secrets.verifyPassword.mockResolvedValue(false);
      const unknown = await refusal(service().login({ username: 'nobody', password: 'whatever-password' }));
      const wrong = await refusal(service().login({ username: 'ana', password: 'wrong-password' }));
      expect(unknown).toEqual({ status: 401, code: 'unauthenticated', message: 'wrong username or password' });
      expect(wrong).toEqual(unknown);
      expect(secrets.verifyPassword).toHaveBeenCalledWith('hash(ana-password)', 'wrong-password');
    });

    it('opens a session stored as the token digest, expiring after the configured hours', async () => {
      users.findByUsername.mockResolvedValue(user);
      secrets.verifyPassword.mockResolvedValue(true);
      secrets.generate.mockReturnValue('niixu_token');
      users.insertSession.mockResolvedValue();
      const expiresAt = new Date(NOW.getTime() + 8 * 3600_000);
      await expect(service({ sessionHours: 8 }).login({ username: 'ana', password: 'ana-password' })).resolves.toEqual({
        token: 'niixu_token',
        expiresAt: expiresAt.toISOString(),
        roles: ['analyst'],
      });
      expect(secrets.generate).toHaveBeenCalledWith('niixu_');
      expect(users.insertSession).toHaveBeenCalledWith({ id: ID, userId: 'u-1', tokenHash: 'sha(niixu_token)', expiresAt });
    });
  });

  describe('authenticate', () => {
    it('looks a user token up among sessions valid now', async () => {
      users.findUserBySessionToken.mockResolvedValue(user);
      await expect(service().authenticate('niixu_token')).resolves.toEqual({ kind: 'user', id: 'u-1', username: 'ana', roles: ['analyst'] });
      expect(users.findUserBySessionToken).toHaveBeenCalledWith('sha(niixu_token)', NOW);
    });

    it('does not accept a session the repository finds no longer valid at now', async () => {
      users.findUserBySessionToken.mockResolvedValue(undefined);
      await expect(service().authenticate('niixu_expired')).resolves.toBeNull();
      expect(users.findUserBySessionToken).toHaveBeenCalledWith('sha(niixu_expired)', NOW);
    });

    it('looks a station key up among stations only', async () => {
      stations.findByApiKeyHash.mockResolvedValue(stationRow);
      await expect(service().authenticate('niixs_key')).resolves.toEqual({ kind: 'station', id: 'st-1', name: 'Lane 3' });
      expect(stations.findByApiKeyHash).toHaveBeenCalledWith('sha(niixs_key)');
    });

    it('answers null for an unknown station key', async () => {
      stations.findByApiKeyHash.mockResolvedValue(undefined);
      await expect(service().authenticate('niixs_other')).resolves.toBeNull();
    });

    it.each(['niixw_secret', 'plain', ''])('answers null for %p without any lookup', async (token) => {
      await expect(service().authenticate(token)).resolves.toBeNull();
    });
  });
});
