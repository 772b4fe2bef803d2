/** Roles of people. A user has one or more. */
export const ROLES = ['admin', 'supervisor', 'analyst', 'trainer', 'trainee'] as const;
export type Role = (typeof ROLES)[number];

/** Roles that may look at any live scan (the central analysis centre). */
export const REVIEW_ROLES: Role[] = ['admin', 'supervisor', 'analyst'];

export interface UserPrincipal {
  kind: 'user';
  id: string;
  username: string;
  roles: Role[];
}

export interface StationPrincipal {
  kind: 'station';
  id: string;
  name: string;
}

/** Who is calling: a signed-in person or a scanner station. */
export type Principal = UserPrincipal | StationPrincipal;

export function hasAnyRole(principal: Principal, roles: readonly Role[]): boolean {
  return principal.kind === 'user' && principal.roles.some((role) => roles.includes(role));
}
