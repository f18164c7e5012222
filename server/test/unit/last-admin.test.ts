import assert from 'node:assert/strict';
import { test } from 'node:test';
import { removesLastAdmin, type AdminState, type UserChange } from '../../src/users/last-admin.js';

test('a change is refused only when it takes away the last enabled admin', () => {
  const admin: AdminState = { id: 'a', role: 'admin', disabled: false };
  const disabledAdmin: AdminState = { id: 'd', role: 'admin', disabled: true };
  const user: AdminState = { id: 'u', role: 'user', disabled: false };
  const del: UserChange = { kind: 'delete' };
  const cases: [AdminState, string[], UserChange, boolean, string][] = [
    [admin, ['a'], del, true, 'delete the last admin'],
    [admin, ['a'], { kind: 'update', role: 'user' }, true, 'demote the last admin'],
    [admin, ['a'], { kind: 'update', disabled: true }, true, 'disable the last admin'],
    [admin, ['a'], { kind: 'update', disabled: true, role: 'admin' }, true, 'disable, keeping the role'],
    [admin, ['a'], { kind: 'update' }, false, 'no change'],
    [admin, ['a'], { kind: 'update', role: 'admin', disabled: false }, false, 'the same values again'],
    [admin, ['a', 'b'], del, false, 'another admin remains'],
    [admin, ['a', 'b'], { kind: 'update', role: 'user' }, false, 'another admin remains'],
    [user, ['a'], del, false, 'a user is no admin'],
    [user, ['a'], { kind: 'update', disabled: true }, false, 'a user is no admin'],
    [disabledAdmin, ['a'], del, false, 'a disabled admin does not count'],
    [disabledAdmin, ['a'], { kind: 'update', role: 'user' }, false, 'a disabled admin does not count'],
  ];
  for (const [target, admins, change, refused, why] of cases) assert.equal(removesLastAdmin(target, admins, change), refused, why);
});
