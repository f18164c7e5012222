import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { ActionAlerts, DeleteButton, IntentForm } from '../components/ActionForms';
import { Alert, Card, EmptyState, Field, PageHeader, Table, Time, fieldProps } from '../components/ui';
import { formValues } from '../lib/actions';
import { submitCommand, submitForm, unknownIntent } from '../lib/actions.server';
import { requireUser, unwrap } from '../lib/auth.server';
import { VARIABLE_FIELDS } from '../lib/errors';
import { formatJson, shortId } from '../lib/format';
import { parseVariableForm, str } from '../lib/forms';
import type { Variable } from '../lib/types';

export const meta: MetaFunction = () => [{ title: 'Variables · Cronium Sandbox' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  return { items: unwrap(await a.api<{ items: Variable[] }>('GET', '/api/v1/variables')).items };
}

export async function action({ request }: ActionFunctionArgs) {
  const a = await requireUser(request);
  const form = await request.formData();
  const intent = str(form, 'intent');
  if (intent === 'save' || intent === 'add') {
    return submitForm(form, {
      intent,
      parse: parseVariableForm,
      send: ({ key, value }) => a.api<Variable>('PUT', `/api/v1/variables/${encodeURIComponent(key)}`, { value }),
      fields: VARIABLE_FIELDS,
      done: (_, { key }) => ({ message: `Saved ${key}.`, extra: { at: new Date().toISOString() } }),
    });
  }
  if (intent === 'delete') {
    const key = str(form, 'key');
    return submitCommand({ intent, send: () => a.api('DELETE', `/api/v1/variables/${encodeURIComponent(key)}`), message: `Deleted ${key}.`, values: formValues(form) });
  }
  return unknownIntent();
}

export default function Variables() {
  const { items } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const busyKey = navigation.state === 'submitting' ? navigation.formData?.get('key') : null;
  const failedEdit = result && !result.ok && result.intent === 'save' ? result : undefined;
  const add = result?.intent === 'add' ? result : undefined;
  const addErrors = add?.fieldErrors ?? {};

  return (
    <>
      <PageHeader title="Variables" description="Values your scripts keep between runs with set_variable / setVariable / cronium set-variable. Each value is JSON." />
      <ActionAlerts result={result} intent="delete" />
      <Card title="Your variables" id="variables">
        {items.length ? (
          <Table columns={['Key', 'Value', 'Updated', 'By']} actions testId="variables-table">
            {items.map((v) => {
              const failed = failedEdit?.values?.key === v.key ? failedEdit : undefined;
              const id = `value-${v.key}`;
              return (
                <tr key={v.key}>
                  <td className="mono">{v.key}</td>
                  <td className="value-cell">
                    <details open={!!failed}>
                      {/* Named by what it shows (the value, then "Edit" and, for screen readers, the key). */}
                      <summary>
                        <code className="value-preview">{JSON.stringify(v.value)}</code>{' '}
                        <span className="summary-edit">
                          Edit<span className="sr-only"> {v.key}</span>
                        </span>
                      </summary>
                      <Form method="post" replace className="edit-form" aria-label={`Edit ${v.key}`}>
                        <input type="hidden" name="intent" value="save" />
                        <input type="hidden" name="key" value={v.key} />
                        {failed?.formError && <Alert>{failed.formError}</Alert>}
                        <Field id={id} label={`New value of ${v.key} (JSON)`} error={failed?.fieldErrors?.value}>
                          <textarea
                            {...fieldProps(id, failed?.fieldErrors?.value)}
                            name="value"
                            className="mono"
                            rows={Math.min(12, formatJson(v.value).split('\n').length + 1)}
                            defaultValue={failed?.values?.value ?? formatJson(v.value)}
                            spellCheck={false}
                          />
                        </Field>
                        <button type="submit" className="btn btn-small btn-primary" disabled={busyKey === v.key}>
                          Save
                        </button>
                      </Form>
                    </details>
                  </td>
                  <td>
                    <Time iso={v.updatedAt} />
                  </td>
                  <td>
                    {v.updatedByExecution ? (
                      <Link to={`/executions/${v.updatedByExecution}`} className="mono">
                        {shortId(v.updatedByExecution)}
                      </Link>
                    ) : (
                      <span className="muted">you</span>
                    )}
                  </td>
                  <td className="actions">
                    <DeleteButton hidden={{ key: v.key }} confirm={`Delete the variable ${v.key}?`} label={`Delete ${v.key}`} />
                  </td>
                </tr>
              );
            })}
          </Table>
        ) : (
          <EmptyState title="No variables yet" action={<Link to="/run" className="btn">Run the starter example</Link>}>
            Scripts create them with the SDK (the starter examples count their runs in one), or add one below.
          </EmptyState>
        )}
      </Card>
      <Card title="Add a variable" id="add">
        <IntentForm key={add?.ok ? add.extra?.at : 'add'} intent="add" label="Add a variable" formError={add?.formError} submitLabel="Add variable">
          <Field id="key" label="Key" error={addErrors.key} hint="Letters, digits, _ . : -">
            <input {...fieldProps('key', addErrors.key, true)} defaultValue={add && !add.ok ? (add.values?.key ?? '') : ''} spellCheck={false} autoCapitalize="off" placeholder="report.threshold" />
          </Field>
          <Field id="value" label="Value (JSON)" error={addErrors.value} hint={'For example 42, "text", [1, 2] or {"a": 1}'} className="grow">
            <textarea {...fieldProps('value', addErrors.value, true)} className="mono" rows={2} defaultValue={add && !add.ok ? (add.values?.value ?? '') : ''} spellCheck={false} />
          </Field>
        </IntentForm>
      </Card>
    </>
  );
}
