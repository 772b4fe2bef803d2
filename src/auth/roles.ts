/** Roles of people. A user has one or more. */
export const ROLES = ['admin', 'supervisor', 'analyst', 'trainer', 'trainee'] as const;
export type Role = (typeof ROLES)[number];

/** Roles that may look at any live scan (the central analysis centre). */
export const REVIEW_ROLES: Role[] = ['admin', 'supervisor', 'analyst'];

/** Roles that build training sets from the archive and read its decided scans. */
export const TRAINER_ROLES: Role[] = ['admin', 'trainer'];

export interface UserPrincipal {
  kind: 'user';
  id: string;
  username: string;
  roles: Role[];
  /**
   * A scan this one request may read although the roles alone would not allow it: set only by the training
   * service, after it checked that the case is shown to this trainee (or that the caller is a trainer).
   */
  grantedScanId?: string;
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
