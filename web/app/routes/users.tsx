import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { useState } from 'react';
import { ActionAlerts, DeleteButton, IntentForm } from '../components/ActionForms';
import { Alert, Card, EmptyState, Field, PageHeader, Table, Time, fieldProps } from '../components/ui';
import { submitCommand, submitForm, unknownIntent } from '../lib/actions.server';
import { requireAdmin, unwrap } from '../lib/auth.server';
import { KEY_FIELDS, USER_FIELDS } from '../lib/errors';
import { parseKeyForm, parseUserForm, str } from '../lib/forms';
import type { ApiKey, User } from '../lib/types';

export const meta: MetaFunction = () => [{ title: 'Users and API keys · Cronium Sandbox' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const a = await requireAdmin(request);
  const users = unwrap(await a.api<{ items: User[] }>('GET', '/api/v1/users')).items;
  const keys = await Promise.all(users.map((u) => a.api<{ items: ApiKey[] }>('GET', `/api/v1/users/${u.id}/keys`)));
  return {
    me: a.user,
    users: users.map((u, i) => {
      const k = keys[i]!;
      return { ...u, keys: k.ok ? k.data.items : [], keysError: k.ok ? null : k.error.message };
    }),
  };
}

export async function action({ request }: ActionFunctionArgs) {
  const a = await requireAdmin(request);
  const form = await request.formData();
  const intent = str(form, 'intent');
  if (intent === 'createUser') {
    return submitForm(form, {
      intent,
      parse: parseUserForm,
      send: (user) => a.api<User>('POST', '/api/v1/users', user),
      fields: USER_FIELDS,
      done: (user) => ({ message: `User ${user.name} created. Issue a key below so they can sign in.`, extra: { at: user.id } }),
    });
  }
  if (intent === 'issueKey') {
    return submitForm(form, {
      intent,
      parse: parseKeyForm,
      send: ({ userId, name }) => a.api<{ id: string; key: string; prefix: string }>('POST', `/api/v1/users/${encodeURIComponent(userId)}/keys`, name ? { name } : {}),
      fields: KEY_FIELDS,
      // The key is in this answer only; the API keeps a hash.
      done: (issued, { userId }) => ({ extra: { key: issued.key, userId, id: issued.id } }),
    });
  }
  // PATCH and DELETE /api/v1/users/:id; the API refuses (409 LAST_ADMIN) to leave the server without an admin.
  const userId = str(form, 'userId');
  const name = str(form, 'name') || 'the user';
  const userPath = `/api/v1/users/${encodeURIComponent(userId)}`;
  if (intent === 'setRole') {
    const role = str(form, 'role');
    if (role !== 'admin' && role !== 'user') return submitCommand({ intent, send: async () => ({ ok: false, status: 400, error: { code: 'BAD_ROLE', message: 'Choose Administrator or User.' } }), message: '' });
    return submitCommand({ intent, send: () => a.api('PATCH', userPath, { role }), message: `${name} is now ${role === 'admin' ? 'an administrator' : 'a user'}.` });
  }
  if (intent === 'setDisabled') {
    const disabled = str(form, 'disabled') === 'true';
    return submitCommand({
      intent,
      send: () => a.api('PATCH', userPath, { disabled }),
      message: disabled ? `${name} is disabled: their keys no longer work.` : `${name} is enabled again: their active keys work.`,
    });
  }
  if (intent === 'deleteUser') {
    return submitCommand({
      intent,
      send: () => a.api('DELETE', userPath),
      message: `${name} was deleted: their keys stopped working, their secrets and variables are gone, their executions stay.`,
    });
  }
  if (intent === 'revokeKey') {
    const id = str(form, 'keyId');
    return submitCommand({ intent, send: () => a.api('DELETE', `/api/v1/keys/${encodeURIComponent(id)}`), message: 'Key revoked: it no longer works.' });
  }
  return unknownIntent();
}

function NewKey({ value }: { value: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="new-key" role="status">
      <p>
        <strong>Copy this key now.</strong> It will not be shown again.
      </p>
      <div className="new-key-row">
        <input readOnly value={value} className="mono" aria-label="New API key" data-testid="new-key" onFocus={(e) => e.currentTarget.select()} />
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            void navigator.clipboard?.writeText(value).then(() => setCopied(true));
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}

const USER_INTENTS = new Set(['setRole', 'setDisabled', 'deleteUser']);

/** Role, disable/enable and delete (after a confirmation that works without JavaScript) for another user. */
function ManageUser({ user, busy }: { user: Pick<User, 'id' | 'name' | 'role'> & { disabled?: boolean }; busy: boolean }) {
  const hidden = (
    <>
      <input type="hidden" name="userId" value={user.id} />
      <input type="hidden" name="name" value={user.name} />
    </>
  );
  return (
    <div className="manage-user" role="group" aria-label={`Manage ${user.name}`}>
      <Form method="post" replace className="manage-role" aria-label={`Role of ${user.name}`}>
        <input type="hidden" name="intent" value="setRole" />
        {hidden}
        <label htmlFor={`role-${user.id}`}>Role</label>
        <select id={`role-${user.id}`} name="role" defaultValue={user.role} key={user.role}>
          <option value="user">User</option>
          <option value="admin">Administrator</option>
        </select>
        <button type="submit" className="btn btn-small" disabled={busy}>
          Change role
        </button>
      </Form>
      <Form method="post" replace aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${user.name}`}>
        <input type="hidden" name="intent" value="setDisabled" />
        <input type="hidden" name="disabled" value={user.disabled ? 'false' : 'true'} />
        {hidden}
        <button type="submit" className="btn btn-small" disabled={busy}>
          {user.disabled ? `Enable ${user.name}` : `Disable ${user.name}`}
        </button>
      </Form>
      <details className="confirm-delete">
        <summary className="btn btn-small btn-danger-ghost">Delete {user.name}…</summary>
        <Form method="post" replace className="confirm-box" aria-label={`Delete ${user.name}`}>
          <input type="hidden" name="intent" value="deleteUser" />
          {hidden}
          <p>
            Delete <strong>{user.name}</strong>? Their keys stop working at once and their secrets and variables are deleted. Their executions stay, shown as
            by a deleted user. This cannot be undone.
          </p>
          <button type="submit" className="btn btn-small btn-danger" disabled={busy}>
            Yes, delete {user.name}
          </button>
        </Form>
      </details>
    </div>
  );
}

export default function Users() {
  const { users, me } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const create = result?.intent === 'createUser' ? result : undefined;
  const createErrors = create?.fieldErrors ?? {};
  const issued = result?.intent === 'issueKey' && result.ok ? result.extra : undefined;
  const issueFailed = result?.intent === 'issueKey' && !result.ok ? result : undefined;
  const busy = navigation.state === 'submitting' ? navigation.formData?.get('intent') : null;
  const userFailed = result && !result.ok && USER_INTENTS.has(result.intent ?? '') ? result : undefined;

  return (
    <>
      <PageHeader title="Users and API keys" description="Everyone signs in with an API key. A key is shown once, when it is issued; revoke it if it leaks." />
      <ActionAlerts result={result} intent="revokeKey" />
      {userFailed?.formError && <Alert>{userFailed.formError}</Alert>}
      <Card title="Create a user" id="create-user">
        <IntentForm
          key={create?.ok ? create.extra?.at : 'create'}
          intent="createUser"
          label="Create a user"
          formError={create?.formError}
          submitLabel="Create user"
          busy={busy === 'createUser'}
        >
          <Field id="name" label="Name" error={createErrors.name} hint="Letters, digits, _ . @ -" className="grow">
            <input {...fieldProps('name', createErrors.name, true)} defaultValue={create && !create.ok ? (create.values?.name ?? '') : ''} autoCapitalize="off" spellCheck={false} />
          </Field>
          <Field id="role" label="Role" error={createErrors.role}>
            <select {...fieldProps('role', createErrors.role)} defaultValue={create && !create.ok ? (create.values?.role ?? 'user') : 'user'}>
              <option value="user">User</option>
              <option value="admin">Administrator</option>
            </select>
          </Field>
        </IntentForm>
      </Card>
      {users.map((u) => {
        const active = u.keys.filter((k) => !k.revokedAt);
        const failedHere = issueFailed?.values?.userId === u.id ? issueFailed : undefined;
        return (
          <Card
            key={u.id}
            id={`user-${u.id}`}
            title={
              <>
                {u.name} <span className={`badge ${u.role === 'admin' ? 'badge-global' : 'badge-user'}`}>{u.role === 'admin' ? 'Administrator' : 'User'}</span>
                {u.disabled && (
                  <>
                    {' '}
                    <span className="badge badge-disabled" data-testid={`disabled-${u.name}`}>
                      Disabled
                    </span>
                  </>
                )}
                {u.id === me.id && <span className="muted small"> (you)</span>}
              </>
            }
            actions={
              <span className="muted small">
                {active.length} active key{active.length === 1 ? '' : 's'} · since <Time iso={u.createdAt} />
              </span>
            }
          >
            {u.id === me.id ? (
              <p className="muted small">Another administrator can change your role, disable or delete your account.</p>
            ) : (
              <ManageUser user={u} busy={typeof busy === 'string' && USER_INTENTS.has(busy)} />
            )}
            {issued?.userId === u.id && issued.key && <NewKey value={issued.key} />}
            {u.keysError && <Alert>{u.keysError}</Alert>}
            {u.keys.length ? (
              <Table columns={['Key', 'Prefix', 'Created', 'Last used', 'State']} actions>
                {u.keys.map((k) => (
                  <tr key={k.id} className={k.revokedAt ? 'is-revoked' : ''}>
                    <td>{k.name}</td>
                    <td className="mono">{k.prefix}…</td>
                    <td>
                      <Time iso={k.createdAt} />
                    </td>
                    <td>{k.lastUsedAt ? <Time iso={k.lastUsedAt} /> : <span className="muted">never</span>}</td>
                    <td>{k.revokedAt ? <span className="badge badge-cancelled">Revoked</span> : <span className="badge badge-succeeded">Active</span>}</td>
                    <td className="actions">
                      {!k.revokedAt && (
                        <DeleteButton
                          intent="revokeKey"
                          hidden={{ keyId: k.id }}
                          confirm={`Revoke the key "${k.name}" of ${u.name}? Anything using it stops working at once.`}
                          label={`Revoke the key ${k.name} of ${u.name}`}
                        >
                          Revoke
                        </DeleteButton>
                      )}
                    </td>
                  </tr>
                ))}
              </Table>
            ) : (
              <EmptyState title="No keys yet">Issue one below and hand it to {u.name}; it is the only way to sign in.</EmptyState>
            )}
            <IntentForm
              intent="issueKey"
              label={`Issue a key for ${u.name}`}
              hidden={{ userId: u.id }}
              className="inline-form"
              formError={failedHere?.formError}
              submitLabel="Issue a key"
              secondary
              busy={busy === 'issueKey'}
            >
              <Field id={`keyName-${u.id}`} label="New key name" error={failedHere?.fieldErrors?.keyName} className="grow">
                <input {...fieldProps(`keyName-${u.id}`, failedHere?.fieldErrors?.keyName)} name="keyName" placeholder="laptop, CI, …" />
              </Field>
            </IntentForm>
          </Card>
        );
      })}
    </>
  );
}
