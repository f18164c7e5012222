import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react';
import { ActionAlerts, DeleteButton, IntentForm } from '../components/ActionForms';
import { Card, EmptyState, Field, PageHeader, Table, Time, fieldProps } from '../components/ui';
import { submitCommand, submitForm, unknownIntent } from '../lib/actions.server';
import { requireUser, unwrap } from '../lib/auth.server';
import { SECRET_FIELDS } from '../lib/errors';
import { parseSecretForm, str } from '../lib/forms';
import type { Secret } from '../lib/types';

export const meta: MetaFunction = () => [{ title: 'Secrets · Cronium Sandbox' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  return { items: unwrap(await a.api<{ items: Secret[] }>('GET', '/api/v1/secrets')).items };
}

export async function action({ request }: ActionFunctionArgs) {
  const a = await requireUser(request);
  const form = await request.formData();
  const intent = str(form, 'intent');
  if (intent === 'save') {
    return submitForm(form, {
      intent,
      parse: parseSecretForm,
      // The value is never sent back to the page, not even after an error.
      omit: ['value'],
      send: ({ name, value }) => a.api<Secret>('PUT', `/api/v1/secrets/${encodeURIComponent(name)}`, { value }),
      fields: SECRET_FIELDS,
      done: (_, { name }, status) => ({
        message: `Secret ${name} ${status === 201 ? 'created' : 'replaced'}. Its value will not be shown again.`,
        extra: { name, at: new Date().toISOString() },
      }),
    });
  }
  if (intent === 'delete') {
    const name = str(form, 'name');
    return submitCommand({ intent, send: () => a.api('DELETE', `/api/v1/secrets/${encodeURIComponent(name)}`), message: `Secret ${name} deleted.` });
  }
  return unknownIntent();
}

export default function Secrets() {
  const { items } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const navigation = useNavigation();
  const save = result?.intent === 'save' ? result : undefined;
  const errors = save?.fieldErrors ?? {};
  const replacing = params.get('replace') ?? '';
  const nameValue = save && !save.ok ? (save.values?.name ?? '') : replacing;
  const saving = navigation.state === 'submitting' && navigation.formData?.get('intent') === 'save';

  return (
    <>
      <PageHeader title="Secrets" description="Tokens and passwords your scripts can read when you grant them on the Run page. Values are stored encrypted and never shown again." />
      <ActionAlerts result={result} intent="delete" />
      <Card title="Your secrets" id="secrets">
        {items.length ? (
          <Table columns={['Name', 'Value', 'Created', 'Updated']} actions testId="secrets-table">
            {items.map((s) => (
              <tr key={s.name}>
                <td className="mono">{s.name}</td>
                <td>
                  <span className="masked" aria-label="hidden">
                    ••••••••
                  </span>
                </td>
                <td>
                  <Time iso={s.createdAt} />
                </td>
                <td>
                  <Time iso={s.updatedAt} />
                </td>
                <td className="actions">
                  <Link to={`?replace=${encodeURIComponent(s.name)}#secret-form`} className="btn btn-small" aria-label={`Replace the value of ${s.name}`}>
                    Replace
                  </Link>
                  <DeleteButton hidden={{ name: s.name }} confirm={`Delete the secret ${s.name}? Scripts that read it will fail.`} label={`Delete the secret ${s.name}`} />
                </td>
              </tr>
            ))}
          </Table>
        ) : (
          <EmptyState title="No secrets yet">Add one below, then grant it to a run on the Run page; the script reads it with the SDK.</EmptyState>
        )}
      </Card>
      <Card title={replacing ? `Replace ${replacing}` : 'Add or replace a secret'} id="secret-form">
        <IntentForm
          key={save?.ok ? save.extra?.at : `form-${replacing}`}
          intent="save"
          label="Save a secret"
          autoComplete="off"
          formError={save?.formError}
          submitLabel="Save secret"
          busy={saving}
          busyLabel="Saving…"
        >
          <Field id="name" label="Name" error={errors.name} hint="Letters, digits, _ . -; saving an existing name replaces its value">
            <input {...fieldProps('name', errors.name, true)} defaultValue={nameValue} spellCheck={false} autoCapitalize="off" placeholder="API_TOKEN" />
          </Field>
          <Field id="value" label="Value" error={errors.value} className="grow">
            <input {...fieldProps('value', errors.value)} type="password" autoComplete="new-password" defaultValue="" />
          </Field>
        </IntentForm>
      </Card>
    </>
  );
}
