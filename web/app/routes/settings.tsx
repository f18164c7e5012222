import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react';
import { Alert, Card, Field, PageHeader, fieldProps } from '../components/ui';
import { submitForm } from '../lib/actions.server';
import { requireAdmin, unwrap } from '../lib/auth.server';
import { SETTINGS_FIELDS, inSeconds } from '../lib/errors';
import { LIMIT_FIELDS, limitForForm, parseSettingsForm } from '../lib/forms';
import type { Settings } from '../lib/types';

export const meta: MetaFunction = () => [{ title: 'Settings · Cronium Sandbox' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const a = await requireAdmin(request);
  return { settings: unwrap(await a.api<Settings>('GET', '/api/v1/settings')) };
}

export async function action({ request }: ActionFunctionArgs) {
  const a = await requireAdmin(request);
  return submitForm(await request.formData(), {
    parse: parseSettingsForm,
    send: async (patch) => {
      const r = await a.api<Settings>('PATCH', '/api/v1/settings', patch);
      return r.ok ? r : { ...r, error: { ...r.error, message: inSeconds(r.error.message) } };
    },
    fields: SETTINGS_FIELDS,
    done: () => ({ message: 'Settings saved.', extra: { at: new Date().toISOString() } }),
  });
}

const POLICIES = [
  ['all_users', 'All users', 'Every user with an API key may run scripts.'],
  ['admin_only', 'Admins only', 'Only administrators may run scripts; others can still read their history.'],
  ['disabled', 'Nobody', 'New executions are refused; running ones finish.'],
] as const;

/** The label and keyboard of each limit field (the timeout in seconds, as on the Run page). */
const LIMIT_LABELS: Record<(typeof LIMIT_FIELDS)[number]['field'], [string, 'numeric' | 'decimal']> = {
  timeout: ['Timeout (s)', 'decimal'],
  memoryMb: ['Memory (MiB)', 'numeric'],
  cpus: ['CPUs', 'decimal'],
  pids: ['Processes', 'numeric'],
};

export default function SettingsPage() {
  const { settings } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const busy = useNavigation().state === 'submitting';
  const errors = result?.fieldErrors ?? {};
  const v = result && !result.ok ? (result.values ?? {}) : null;
  const val = (name: string, current: string | number) => (v ? (v[name] ?? '') : String(current));
  const checked = (name: string, current: boolean) => (v ? v[name] === 'on' : current);

  return (
    <>
      <PageHeader title="Settings" description="Server-wide rules for executions. Changes apply to new executions at once." />
      {result?.ok && <Alert kind="success">{result.message}</Alert>}
      {result?.formError && <Alert>{result.formError}</Alert>}
      {result && !result.ok && !result.formError && <Alert>Check the highlighted fields.</Alert>}
      <Form method="post" noValidate key={result?.ok ? result.extra?.at : 'settings'} aria-label="Settings">
        <Card title="Who may execute" id="policy">
          <fieldset className="radios" aria-describedby={errors.executionPolicy ? 'executionPolicy-error' : undefined}>
            <legend className="sr-only">Execution policy</legend>
            {POLICIES.map(([value, label, hint]) => (
              <label key={value} className="radio-card">
                <input type="radio" name="executionPolicy" value={value} defaultChecked={val('executionPolicy', settings.executionPolicy) === value} />
                <span>
                  <strong>{label}</strong>
                  <span className="muted small">{hint}</span>
                </span>
              </label>
            ))}
          </fieldset>
          {errors.executionPolicy && (
            <p className="field-error" id="executionPolicy-error">
              {errors.executionPolicy}
            </p>
          )}
        </Card>
        <div className="grid-2">
          <Card title="Default limits" id="default-limits">
            <p className="field-hint">Used when a run does not ask for its own.</p>
            <div className="grid-fields">
              {LIMIT_FIELDS.map(({ field, key }) => {
                const name = `defaultLimits.${field}`;
                const [label, mode] = LIMIT_LABELS[field];
                return (
                  <Field key={name} id={name} label={label} error={errors[name]}>
                    <input {...fieldProps(name, errors[name])} inputMode={mode} defaultValue={val(name, limitForForm(key, settings.defaultLimits[key]))} />
                  </Field>
                );
              })}
            </div>
          </Card>
          <Card title="Maximum limits" id="max-limits">
            <p className="field-hint">A run that asks for more gets these.</p>
            <div className="grid-fields">
              {LIMIT_FIELDS.map(({ field, key }) => {
                const name = `maxLimits.${field}`;
                const [label, mode] = LIMIT_LABELS[field];
                return (
                  <Field key={name} id={name} label={label} error={errors[name]}>
                    <input {...fieldProps(name, errors[name])} inputMode={mode} defaultValue={val(name, limitForForm(key, settings.maxLimits[key]))} />
                  </Field>
                );
              })}
            </div>
          </Card>
        </div>
        <div className="grid-2">
          <Card title="Concurrency" id="concurrency">
            <div className="grid-fields">
              <Field id="maxConcurrency" label="Running at once (server)" error={errors.maxConcurrency}>
                <input {...fieldProps('maxConcurrency', errors.maxConcurrency)} inputMode="numeric" defaultValue={val('maxConcurrency', settings.maxConcurrency)} />
              </Field>
              <Field id="maxConcurrencyPerUser" label="Running at once (per user)" error={errors.maxConcurrencyPerUser} hint="Empty: half of the server's, following it">
                <input {...fieldProps('maxConcurrencyPerUser', errors.maxConcurrencyPerUser, true)} inputMode="numeric" defaultValue={val('maxConcurrencyPerUser', settings.maxConcurrencyPerUser)} />
                <input type="hidden" name="maxConcurrencyPerUser.loaded" value={String(settings.maxConcurrencyPerUser)} />
              </Field>
              <Field id="maxQueue" label="Queue length" error={errors.maxQueue}>
                <input {...fieldProps('maxQueue', errors.maxQueue)} inputMode="numeric" defaultValue={val('maxQueue', settings.maxQueue)} />
              </Field>
              {settings.maxQueuedPerUser !== undefined && (
                <Field id="maxQueuedPerUser" label="Waiting at once (per user)" error={errors.maxQueuedPerUser} hint="Empty: a quarter of the queue, following it">
                  <input {...fieldProps('maxQueuedPerUser', errors.maxQueuedPerUser, true)} inputMode="numeric" defaultValue={val('maxQueuedPerUser', settings.maxQueuedPerUser)} />
                  <input type="hidden" name="maxQueuedPerUser.loaded" value={String(settings.maxQueuedPerUser)} />
                </Field>
              )}
            </div>
          </Card>
          <Card title="Isolation and egress" id="isolation">
            <Field
              id="defaultIsolation"
              label="Default isolation"
              error={errors.defaultIsolation}
              hint={settings.gvisorAvailable ? 'gVisor (runsc) is installed.' : 'gVisor (runsc) is not installed in this Docker engine.'}
            >
              <select {...fieldProps('defaultIsolation', errors.defaultIsolation, true)} defaultValue={val('defaultIsolation', settings.defaultIsolation)}>
                <option value="standard">Standard (Docker, seccomp)</option>
                <option value="gvisor" disabled={!settings.gvisorAvailable}>
                  gVisor
                </option>
              </select>
            </Field>
            <label className="check">
              <input type="checkbox" name="allowIsolationChoice" defaultChecked={checked('allowIsolationChoice', settings.allowIsolationChoice)} /> Users may choose the
              isolation of a run
            </label>
            <label className="check">
              <input type="checkbox" name="allowExecutionEgressRules" defaultChecked={checked('allowExecutionEgressRules', settings.allowExecutionEgressRules)} /> Runs may
              name their own egress hosts
            </label>
          </Card>
        </div>
        <div className="form-footer">
          <button type="submit" className="btn btn-primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      </Form>
    </>
  );
}
