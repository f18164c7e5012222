import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useActionData, useLoaderData, useNavigation, useSearchParams } from '@remix-run/react';
import { ActionAlerts, DeleteButton, IntentForm } from '../components/ActionForms';
import { Alert, Card, EmptyState, Field, PageHeader, Table, Time, fieldProps } from '../components/ui';
import { submitCommand, submitForm, unknownIntent } from '../lib/actions.server';
import { requireUser } from '../lib/auth.server';
import { EGRESS_RULE_FIELDS } from '../lib/errors';
import { egressReasonText } from '../lib/explain';
import { shortId } from '../lib/format';
import { parseEgressRuleForm, str } from '../lib/forms';
import { logQuery } from '../lib/queries';
import type { EgressLogEntry, EgressRule } from '../lib/types';
import { userNames } from '../lib/users.server';

export const meta: MetaFunction = () => [{ title: 'Egress · Cronium Sandbox' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  const search = new URL(request.url).searchParams;
  const [rules, log, names] = await Promise.all([
    a.api<{ items: EgressRule[] }>('GET', '/api/v1/egress/rules'),
    a.api<{ items: EgressLogEntry[] }>('GET', `/api/v1/egress/log?${logQuery(search)}`),
    userNames(a),
  ]);
  return {
    rules: rules.ok ? rules.data.items : [],
    rulesError: rules.ok ? null : rules.error.message,
    log: log.ok ? log.data.items : [],
    logError: log.ok ? null : log.error.message,
    names,
    me: a.user,
  };
}

export async function action({ request }: ActionFunctionArgs) {
  const a = await requireUser(request);
  const form = await request.formData();
  const intent = str(form, 'intent');
  if (intent === 'add') {
    return submitForm(form, {
      intent,
      parse: (f) => parseEgressRuleForm(f, a.user.role === 'admin'),
      send: (rule) => a.api<EgressRule>('POST', '/api/v1/egress/rules', rule),
      fields: EGRESS_RULE_FIELDS,
      done: (rule) => ({ message: `Added a rule for ${rule.pattern}.`, extra: { id: rule.id } }),
    });
  }
  if (intent === 'delete') {
    const id = str(form, 'id');
    return submitCommand({
      intent,
      send: () => a.api('DELETE', `/api/v1/egress/rules/${encodeURIComponent(id)}`),
      message: `Removed the rule for ${str(form, 'pattern') || 'that host'}.`,
    });
  }
  return unknownIntent();
}

export default function Egress() {
  const { rules, rulesError, log, logError, names, me } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const [params] = useSearchParams();
  const navigation = useNavigation();
  const isAdmin = me.role === 'admin';
  const addResult = result?.intent === 'add' ? result : undefined;
  const errors = addResult?.fieldErrors ?? {};
  // A failed run's "Allow …" link fills the form (/egress?pattern=api.example.com&ports=8443).
  const prefill: Record<string, string> = { pattern: params.get('pattern') ?? '', ports: params.get('ports') ?? '' };
  const values = addResult && !addResult.ok ? (addResult.values ?? {}) : addResult?.ok ? {} : prefill;
  const decision = params.get('decision') ?? '';
  const adding = navigation.state === 'submitting' && navigation.formData?.get('intent') === 'add';

  return (
    <>
      <PageHeader
        title="Egress"
        description="Scripts have no network by default. A request leaves the sandbox only when a rule below, or the run’s own egress hosts, allow its host."
      />
      <ActionAlerts result={result} intent="delete" />

      <Card title="Allowlist rules" id="rules">
        {rulesError ? (
          <Alert>The egress rules could not be loaded: {rulesError}</Alert>
        ) : rules.length ? (
          <Table columns={['Host pattern', 'Ports', 'Applies to', 'Added']} actions testId="egress-rules">
            {rules.map((r) => (
              <tr key={r.id}>
                <td className="mono">{r.pattern}</td>
                <td>
                  {r.ports?.length ? (
                    r.ports.join(', ')
                  ) : (
                    <span title="A rule without ports allows HTTP and HTTPS only">
                      80, 443 <span className="muted small">(default)</span>
                    </span>
                  )}
                </td>
                <td>
                  {r.scope === 'global' ? (
                    <span className="badge badge-global">Everyone</span>
                  ) : r.userId === me.id ? (
                    <span className="badge badge-user">You</span>
                  ) : (
                    <span className="badge badge-user">{names[r.userId ?? ''] ?? shortId(r.userId ?? '')}</span>
                  )}
                </td>
                <td>
                  <Time iso={r.createdAt} />
                </td>
                <td className="actions">
                  {r.scope === 'global' && !isAdmin ? (
                    <span className="muted small">set by an admin</span>
                  ) : (
                    <DeleteButton hidden={{ id: r.id, pattern: r.pattern }} label={`Remove the rule for ${r.pattern}`}>
                      Remove
                    </DeleteButton>
                  )}
                </td>
              </tr>
            ))}
          </Table>
        ) : (
          <EmptyState title="No egress rules yet">Add a host below to let your scripts reach it, for example api.github.com.</EmptyState>
        )}

        <IntentForm
          key={addResult?.ok ? addResult.extra?.id : 'add'}
          intent="add"
          label="Add an egress rule"
          id="add-rule"
          className="inline-form"
          heading={<h3>Add a rule</h3>}
          formError={addResult?.formError}
          submitLabel="Add rule"
          busy={adding}
          busyLabel="Adding…"
        >
          <Field
            id="pattern"
            label="Host pattern"
            error={errors.pattern}
            hint="A host name (api.example.com), a wildcard like *.example.com, an IP address, or a range like 203.0.113.0/24 (for requests made to IP addresses in it)"
            className="grow"
          >
            <input {...fieldProps('pattern', errors.pattern, true)} defaultValue={values.pattern ?? ''} spellCheck={false} autoCapitalize="off" placeholder="api.example.com" />
          </Field>
          <Field id="ports" label="Ports" error={errors.ports} hint="Empty for 80 and 443 only (HTTP and HTTPS); list others like 8443, 22">
            <input {...fieldProps('ports', errors.ports, true)} defaultValue={values.ports ?? ''} placeholder="443" inputMode="numeric" />
          </Field>
          {isAdmin ? (
            <Field id="scope" label="Applies to" error={errors.scope}>
              <select {...fieldProps('scope', errors.scope)} defaultValue={values.scope ?? 'user'}>
                <option value="user">Only me</option>
                <option value="global">Everyone (global)</option>
              </select>
            </Field>
          ) : (
            <input type="hidden" name="scope" value="user" />
          )}
        </IntentForm>
      </Card>

      <Card
        title="Recent requests"
        id="log"
        actions={
          <nav className="tabs" aria-label="Filter by decision">
            {[
              ['', 'All'],
              ['allowed', 'Allowed'],
              ['denied', 'Denied'],
            ].map(([v, label]) => (
              <Link key={v} to={v ? `?decision=${v}` : '?'} aria-current={decision === v ? 'page' : undefined} className={decision === v ? 'is-active' : ''} preventScrollReset>
                {label}
              </Link>
            ))}
          </nav>
        }
      >
        {logError ? (
          <Alert>The egress log could not be loaded: {logError}</Alert>
        ) : log.length ? (
          <Table columns={['Time', 'Decision', 'Request', 'Reason', 'Execution', isAdmin && 'User']}>
            {log.map((e, i) => (
              <tr key={i}>
                <td>
                  <Time iso={e.ts} />
                </td>
                <td>
                  <span className={`badge ${e.allowed ? 'badge-succeeded' : 'badge-failed'}`}>{e.allowed ? 'Allowed' : 'Denied'}</span>
                </td>
                <td className="mono small">
                  {e.method} {e.host}
                  {e.port ? `:${e.port}` : ''}
                  {e.address && <span className="muted"> → {e.address}</span>}
                </td>
                <td className="small">{e.allowed ? 'allowed by a rule' : egressReasonText(e.reason, e.port, e.address)}</td>
                <td>{e.executionId ? <Link to={`/executions/${e.executionId}`} className="mono">{shortId(e.executionId)}</Link> : '—'}</td>
                {isAdmin && <td>{e.userId ? (names[e.userId] ?? shortId(e.userId)) : '—'}</td>}
              </tr>
            ))}
          </Table>
        ) : (
          <EmptyState title={decision ? `No ${decision} requests` : 'No outbound requests yet'}>
            When a script calls out to the network, each request and the decision on it shows up here.
          </EmptyState>
        )}
      </Card>
    </>
  );
}
