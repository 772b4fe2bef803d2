import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { strictMock, strictMockOf } from '../../test/strict-mock.js';
import { Public, Roles, StationOnly, StationOrRoles } from './auth.decorators.js';
import { AuthGuard } from './auth.guard.js';
import { AuthService } from './auth.service.js';
import type { Principal, StationPrincipal, UserPrincipal } from './roles.js';
import { refusal } from '../../test/builders.js';

/** Routes whose bodies do not matter, only their access metadata. */
class Routes {
  @Public() open() {}
  @StationOnly() upload() {}
  @Roles('admin') users() {}
  @StationOrRoles('analyst', 'supervisor') scan() {}
  undeclared() {}
}

@Roles('supervisor')
class SupervisorRoutes {
  list() {}
  @Public() health() {}
}

const station: StationPrincipal = { kind: 'station', id: 'st-1', name: 'Lane 3' };
const analyst: UserPrincipal = { kind: 'user', id: 'u-1', username: 'ana', roles: ['analyst'] };
const trainee: UserPrincipal = { kind: 'user', id: 'u-2', username: 'tom', roles: ['trainee'] };

type HttpArgumentsHost = ReturnType<ExecutionContext['switchToHttp']>;

interface Request {
  headers: { authorization?: string };
  principal?: Principal;
}

function contextFor(cls: new () => object, method: string, request: Request): ExecutionContext {
  const handler = (cls.prototype as Record<string, () => void>)[method];
  const http = strictMockOf<HttpArgumentsHost>('HttpArgumentsHost', ['getRequest', 'getResponse', 'getNext'], {
    getRequest: <T>() => request as T,
  });
  return strictMockOf<ExecutionContext>('ExecutionContext', ['getHandler', 'getClass', 'switchToHttp', 'getType', 'getArgs', 'getArgByIndex', 'switchToRpc', 'switchToWs'], {
    getHandler: () => handler,
    getClass: <T>() => cls as T,
    switchToHttp: () => http,
  });
}


describe(AuthGuard.name, () => {
  let auth: jest.Mocked<AuthService>;
  let guard: AuthGuard;

  beforeEach(() => {
    auth = strictMock(AuthService);
    guard = new AuthGuard(new Reflector(), auth);
  });

  const bearer = (token: string): Request => ({ headers: { authorization: `Bearer ${token}` } });

  it('refuses a route that declares no access rule with 403, even to a valid caller', async () => {
    expect(await refusal(guard.canActivate(contextFor(Routes, 'undeclared', bearer('niixu_x'))))).toMatchObject({
      status: 403,
      message: 'this route declares no access rule',
    });
  });

  it('lets anyone through a public route without a token', async () => {
    await expect(guard.canActivate(contextFor(Routes, 'open', { headers: {} }))).resolves.toBe(true);
  });

  it('lets a method rule override the class rule', async () => {
    await expect(guard.canActivate(contextFor(SupervisorRoutes, 'health', { headers: {} }))).resolves.toBe(true);
    auth.authenticate.mockResolvedValue(analyst);
    expect(await refusal(guard.canActivate(contextFor(SupervisorRoutes, 'list', bearer('niixu_a'))))).toMatchObject({ status: 403 });
  });

  it.each([undefined, 'Basic dXNlcjpwYXNz', 'Bearer ', 'Bearer    ', 'bearer niixu_x', 'niixu_x'])(
    'answers 401 without asking for a principal when the Authorization header is %p',
    async (authorization) => {
      const request: Request = { headers: authorization === undefined ? {} : { authorization } };
      expect(await refusal(guard.canActivate(contextFor(Routes, 'scan', request)))).toMatchObject({ status: 401 });
    },
  );

  it('answers 401 for a token that stands for no one', async () => {
    auth.authenticate.mockResolvedValue(null);
    expect(await refusal(guard.canActivate(contextFor(Routes, 'scan', bearer('niixu_unknown'))))).toMatchObject({
      status: 401,
      message: 'the token or API key is not valid (or has expired)',
    });
    expect(auth.authenticate).toHaveBeenCalledWith('niixu_unknown');
  });

  it('refuses a station on a user route with 403', async () => {
    auth.authenticate.mockResolvedValue(station);
    expect(await refusal(guard.canActivate(contextFor(Routes, 'users', bearer('niixs_k'))))).toMatchObject({
      status: 403,
      message: 'stations may not call this route',
    });
  });

  it('refuses a user without one of the roles with 403 naming them', async () => {
    auth.authenticate.mockResolvedValue(trainee);
    expect(await refusal(guard.canActivate(contextFor(Routes, 'scan', bearer('niixu_t'))))).toMatchObject({
      status: 403,
      message: 'this route needs one of the roles analyst, supervisor',
    });
  });

  it('refuses a user on a station-only route with 403', async () => {
    auth.authenticate.mockResolvedValue(analyst);
    expect(await refusal(guard.canActivate(contextFor(Routes, 'upload', bearer('niixu_a'))))).toMatchObject({
      status: 403,
      message: 'this route needs a station API key',
    });
  });

  it.each([
    ['a station', station, 'niixs_k'],
    ['an analyst', analyst, 'niixu_a'],
  ] as const)('lets %s through and sets the principal on the request', async (_who, principal, token) => {
    auth.authenticate.mockResolvedValue(principal);
    const request = bearer(`  ${token} `);
    await expect(guard.canActivate(contextFor(Routes, 'scan', request))).resolves.toBe(true);
    expect(auth.authenticate).toHaveBeenCalledWith(token);
    expect(request.principal).toBe(principal);
  });
});
