import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../common/api-error.js';
import { ACCESS, type Access } from './auth.decorators.js';
import { AuthService } from './auth.service.js';
import type { Principal } from './roles.js';

/**
 * Global guard: every route declares its access (Public, StationOnly, Roles, StationOrRoles); a route that
 * declares nothing is refused, so a forgotten decorator cannot open a route.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly auth: AuthService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<Access | undefined>(ACCESS, [context.getHandler(), context.getClass()]);
    if (!access) throw ApiError.forbidden('this route declares no access rule');
    if ('public' in access) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { principal?: Principal }>();
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (!token) throw ApiError.unauthorized();
    const principal = await this.auth.authenticate(token);
    if (!principal) throw ApiError.unauthorized('the token or API key is not valid (or has expired)');
    if (principal.kind === 'station') {
      if (!access.station) throw ApiError.forbidden('stations may not call this route');
    } else if (!access.roles?.some((role) => principal.roles.includes(role))) {
      const needed = access.roles?.length ? `one of the roles ${access.roles.join(', ')}` : 'a station API key';
      throw ApiError.forbidden(`this route needs ${needed}`);
    }
    request.principal = principal;
    return true;
  }
}
