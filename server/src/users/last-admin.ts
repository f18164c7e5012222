import type { Role } from '../auth/users-repository.js';

export type UserChange = { kind: 'update'; disabled?: boolean; role?: Role } | { kind: 'delete' };

/** An enabled admin is one who can still administer: role admin, not disabled (deleted users are not counted). */
export interface AdminState {
  id: string;
  role: Role;
  disabled: boolean;
}

/**
 * Whether the change takes away the last enabled admin: nobody could then administer the server (nor undo it).
 * `enabledAdmins` are the ids of every enabled admin, the target among them or not.
 */
export function removesLastAdmin(target: AdminState, enabledAdmins: readonly string[], change: UserChange): boolean {
  const isEnabledAdmin = target.role === 'admin' && !target.disabled;
  if (!isEnabledAdmin) return false;
  const staysEnabledAdmin = change.kind === 'update' && (change.role ?? target.role) === 'admin' && !(change.disabled ?? target.disabled);
  if (staysEnabledAdmin) return false;
  return enabledAdmins.filter((id) => id !== target.id).length === 0;
}
