import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { useState } from 'react';
import { Alert, Card, EmptyState, Field, PageHeader, Time, fieldProps } from '../components/ui';
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

export default function Users() {
  const { users, me } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const create = result?.intent === 'createUser' ? result : undefined;
  const createErrors = create?.fieldErrors ?? {};
  const issued = result?.intent === 'issueKey' && result.ok ? result.extra : undefined;
  const issueFailed = result?.intent === 'issueKey' && !result.ok ? result : undefined;
  const busy = navigation.state === 'submitting' ? navigation.formData?.get('intent') : null;

  return (
    <>
      <PageHeader title="Users and API keys" description="Everyone signs in with an API key. A key is shown once, when it is issued; revoke it if it leaks." />
      {result?.ok && result.message && <Alert kind="success">{result.message}</Alert>}
      {result && !result.ok && result.intent === 'revokeKey' && result.formError && <Alert>{result.formError}</Alert>}
      <Card title="Create a user" id="create-user">
        <Form method="post" key={create?.ok ? create.extra?.at : 'create'} noValidate aria-label="Create a user">
          <input type="hidden" name="intent" value="createUser" />
          {create?.formError && <Alert>{create.formError}</Alert>}
          <div className="form-row">
            <Field id="name" label="Name" error={createErrors.name} hint="Letters, digits, _ . @ -" className="grow">
              <input {...fieldProps('name', createErrors.name, true)} defaultValue={create && !create.ok ? (create.values?.name ?? '') : ''} autoCapitalize="off" spellCheck={false} />
            </Field>
            <Field id="role" label="Role" error={createErrors.role}>
              <select {...fieldProps('role', createErrors.role)} defaultValue={create && !create.ok ? (create.values?.role ?? 'user') : 'user'}>
                <option value="user">User</option>
                <option value="admin">Administrator</option>
              </select>
            </Field>
            <div className="form-submit">
              <button type="submit" className="btn btn-primary" disabled={busy === 'createUser'}>
                Create user
              </button>
            </div>
          </div>
        </Form>
      </Card>
      {users.map((u) => {
        const active = u.keys.filter((k) => !k.revokedAt);
        return (
          <Card
            key={u.id}
            id={`user-${u.id}`}
            title={
              <>
                {u.name} <span className={`badge ${u.role === 'admin' ? 'badge-global' : 'badge-user'}`}>{u.role === 'admin' ? 'Administrator' : 'User'}</span>
                {u.id === me.id && <span className="muted small"> (you)</span>}
              </>
            }
            actions={
              <span className="muted small">
                {active.length} active key{active.length === 1 ? '' : 's'} · since <Time iso={u.createdAt} />
              </span>
            }
          >
            {issued?.userId === u.id && issued.key && <NewKey value={issued.key} />}
            {u.keysError && <Alert>{u.keysError}</Alert>}
            {u.keys.length ? (
              <div className="table-wrap">
                <table className="table">
                  <thead>
                    <tr>
                      <th scope="col">Key</th>
                      <th scope="col">Prefix</th>
                      <th scope="col">Created</th>
                      <th scope="col">Last used</th>
                      <th scope="col">State</th>
                      <th scope="col">
                        <span className="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
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
                            <Form
                              method="post"
                              replace
                              onSubmit={(e) => {
                                if (!confirm(`Revoke the key "${k.name}" of ${u.name}? Anything using it stops working at once.`)) e.preventDefault();
                              }}
                            >
                              <input type="hidden" name="intent" value="revokeKey" />
                              <input type="hidden" name="keyId" value={k.id} />
                              <button type="submit" className="btn btn-small btn-danger-ghost" aria-label={`Revoke the key ${k.name} of ${u.name}`}>
                                Revoke
                              </button>
                            </Form>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <EmptyState title="No keys yet">Issue one below and hand it to {u.name}; it is the only way to sign in.</EmptyState>
            )}
            <Form method="post" className="inline-form" noValidate aria-label={`Issue a key for ${u.name}`}>
              <input type="hidden" name="intent" value="issueKey" />
              <input type="hidden" name="userId" value={u.id} />
              {issueFailed?.values?.userId === u.id && issueFailed.formError && <Alert>{issueFailed.formError}</Alert>}
              <div className="form-row">
                <Field
                  id={`keyName-${u.id}`}
                  label="New key name"
                  error={issueFailed?.values?.userId === u.id ? issueFailed.fieldErrors?.keyName : undefined}
                  className="grow"
                >
                  <input {...fieldProps(`keyName-${u.id}`, issueFailed?.values?.userId === u.id ? issueFailed.fieldErrors?.keyName : undefined)} name="keyName" placeholder="laptop, CI, …" />
                </Field>
                <div className="form-submit">
                  <button type="submit" className="btn" disabled={busy === 'issueKey'}>
                    Issue a key
                  </button>
                </div>
              </div>
            </Form>
          </Card>
        );
      })}
    </>
  );
}
