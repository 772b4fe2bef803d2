import { createParamDecorator, type ExecutionContext, SetMetadata } from '@nestjs/common';
import type { Principal, Role } from './roles.js';

/** Who may call a route. Routes without it are closed to everyone (the guard fails closed). */
export type Access =
  | { public: true }
  | { station?: boolean; roles?: readonly Role[] };

export const ACCESS = 'niix:access';

/** Open to anyone (login, health, documentation). */
export const Public = () => SetMetadata(ACCESS, { public: true } satisfies Access);
/** Only a station with its API key. */
export const StationOnly = () => SetMetadata(ACCESS, { station: true } satisfies Access);
/** Signed-in users with one of these roles. */
export const Roles = (...roles: Role[]) => SetMetadata(ACCESS, { roles } satisfies Access);
/** A station, or a user with one of these roles. */
export const StationOrRoles = (...roles: Role[]) => SetMetadata(ACCESS, { station: true, roles } satisfies Access);

/** The authenticated caller, set by AuthGuard. */
export const CurrentPrincipal = createParamDecorator((_: unknown, context: ExecutionContext): Principal => {
  const request = context.switchToHttp().getRequest<{ principal?: Principal }>();
  if (!request.principal) throw new Error('CurrentPrincipal used on a route without authentication');
  return request.principal;
});
