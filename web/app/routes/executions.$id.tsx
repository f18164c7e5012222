import { type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction, data } from '@remix-run/node';
import { Form, Link, useActionData, useLoaderData, useNavigation, useRevalidator } from '@remix-run/react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { ArtifactsCard } from '../components/ArtifactsCard';
import { LogViewer } from '../components/LogViewer';
import { OutputPanel } from '../components/OutputPanel';
import { Alert, Card, Facts, JsonBlock, PageHeader, StatusBadge, Table, Time } from '../components/ui';
import { submitCommand, unknownIntent } from '../lib/actions.server';
import { requireUser, unwrap } from '../lib/auth.server';
import { type Explanation, egressReasonText, explain, queueNote } from '../lib/explain';
import { formatBytes, formatDuration, shortId } from '../lib/format';
import { mergeLogs, parseLogEvent, toLogEntry } from '../lib/logs';
import { requestedPackages } from '../lib/packages';
import { ACTIVE_STATUSES, type ArtifactList, type EgressLogEntry, type Execution, type ExecutionSummary, LANGUAGE_LABELS, type LogEntry, type RuntimeCall, type Settings, type Stats } from '../lib/types';
import { userNames } from '../lib/users.server';
import type { Authed } from '../lib/auth.server';

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `Execution ${data ? shortId(data.execution.id) : ''} · Cronium Sandbox` }];

const ID = /^[0-9a-f-]{36}$/i;

export async function loader({ request, params }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  const id = params.id ?? '';
  if (!ID.test(id)) throw data({ message: `There is no execution ${id}.` }, { status: 404 });
  const [execution, logs, calls, egress, names] = await Promise.all([
    a.api<Execution>('GET', `/api/v1/executions/${id}`),
    a.api<{ entries: LogEntry[]; truncated: boolean }>('GET', `/api/v1/executions/${id}/logs`),
    a.api<{ items: RuntimeCall[] }>('GET', `/api/v1/executions/${id}/runtime-calls`),
    a.api<{ items: EgressLogEntry[] }>('GET', `/api/v1/egress/log?executionId=${id}&limit=100`),
    userNames(a),
  ]);
  const ex = unwrap(execution);
  // Artifacts are collected when the script ends: asked for only when the execution says it has some.
  const artifacts = ex.artifactCount > 0 || ex.artifactsTruncated ? await a.api<ArtifactList>('GET', `/api/v1/executions/${id}/artifacts`) : null;
  return {
    execution: ex,
    // The API says why (GET /executions/:id `queue`); the counts are a fallback for an older server.
    queue: ex.status === 'queued' ? (ex.queue?.message ?? (await queueFacts(a, ex))) : null,
    logs: logs.ok ? logs.data.entries.map(toLogEntry).filter((e): e is LogEntry => e !== null) : [],
    logsError: logs.ok ? null : logs.error.message,
    logsTruncated: logs.ok ? logs.data.truncated : false,
    calls: calls.ok ? calls.data.items : [],
    egress: egress.ok ? egress.data.items : [],
    egressError: egress.ok ? null : egress.error.message,
    artifacts: artifacts?.ok ? artifacts.data : null,
    artifactsError: artifacts && !artifacts.ok ? artifacts.error.message : null,
    names,
  };
}

/** Why a queued execution waits, from what the API tells this viewer (see queueNote). */
async function queueFacts(a: Authed, ex: Execution): Promise<string | null> {
  const isAdmin = a.user.role === 'admin';
  const [stats, mine, settings] = await Promise.all([
    a.api<Stats>('GET', `/api/v1/stats?hours=1&scope=${isAdmin ? 'all' : 'mine'}`),
    a.api<{ items: ExecutionSummary[] }>('GET', `/api/v1/executions?status=running&limit=200${isAdmin ? `&userId=${encodeURIComponent(ex.userId)}` : ''}`),
    isAdmin ? a.api<Settings>('GET', '/api/v1/settings') : Promise.resolve(null),
  ]);
  if (!stats.ok || !mine.ok) return null;
  return queueNote({
    running: stats.data.running,
    queued: stats.data.queued,
    userRunning: mine.data.items.length,
    everyone: isAdmin,
    ...(settings?.ok ? { limits: { maxConcurrency: settings.data.maxConcurrency, maxConcurrencyPerUser: settings.data.maxConcurrencyPerUser } } : {}),
  });
}

export async function action({ request, params }: ActionFunctionArgs) {
  const a = await requireUser(request);
  const id = params.id ?? '';
  const form = await request.formData();
  if (form.get('intent') !== 'cancel' || !ID.test(id)) return unknownIntent();
  return submitCommand({ intent: 'cancel', send: () => a.api('POST', `/api/v1/executions/${id}/cancel`), message: 'Cancelling: the container is being stopped.' });
}

type Live = { status: string | null; entries: LogEntry[]; streaming: boolean; failed: boolean };

/** Follows the live log through the dashboard's SSE proxy while the execution is queued or running. */
function useLiveLog(id: string, active: boolean) {
  const { revalidate } = useRevalidator();
  // revalidate() changes identity with the revalidation state; the stream must not reconnect because of that.
  const revalidateRef = useRef(revalidate);
  revalidateRef.current = revalidate;
  const [live, setLive] = useState<Live>({ status: null, entries: [], streaming: false, failed: false });
  useEffect(() => {
    if (!active) return;
    const es = new EventSource(`/executions/${id}/stream`);
    setLive((l) => ({ ...l, streaming: true, failed: false }));
    es.addEventListener('status', (ev) => {
      try {
        const { status } = JSON.parse((ev as MessageEvent).data) as { status: string };
        setLive((l) => ({ ...l, status }));
      } catch {
        /* ignore */
      }
    });
    es.addEventListener('log', (ev) => {
      const e = parseLogEvent((ev as MessageEvent).data);
      if (e) setLive((l) => ({ ...l, entries: [...l.entries, e] }));
    });
    es.addEventListener('end', (ev) => {
      es.close();
      let status: string | null = null;
      try {
        status = (JSON.parse((ev as MessageEvent).data) as { status: string }).status;
      } catch {
        /* ignore */
      }
      setLive((l) => ({ ...l, status: status ?? l.status, streaming: false }));
      void revalidateRef.current();
    });
    es.onerror = () => {
      if (es.readyState === EventSource.CLOSED) setLive((l) => ({ ...l, streaming: false, failed: true }));
    };
    return () => es.close();
  }, [id, active]);
  return live;
}

/** Why it ended as it did: errors in red, a user's cancel as plain information. */
function Explanations({ items }: { items: Explanation[] }) {
  if (!items.length) return null;
  const failed = items.some((e) => e.tone === 'error');
  return (
    <section className={`explain explain-${failed ? 'error' : items.some((e) => e.tone === 'warning') ? 'warning' : 'info'}`} aria-labelledby="explain-title" data-testid="explain">
      <h2 id="explain-title">{failed ? 'Why it failed' : items.every((e) => e.kind === 'cancelled') ? 'Cancelled' : 'Worth knowing'}</h2>
      <ul>
        {items.map((e, i) => (
          <li key={i} className={`explain-item tone-${e.tone}`} data-kind={e.kind}>
            <strong>{e.title}</strong>
            {e.detail && <span> {e.detail}</span>}
            {e.action && (
              <>
                {' '}
                <Link to={e.action.to}>{e.action.label}</Link>
              </>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function ScriptView({ script }: { script: string }) {
  const lines = script.replace(/\n$/, '').split('\n');
  return (
    <pre className="code script" tabIndex={0} aria-label="Script">
      {lines.map((l, i) => (
        <span key={i} className="script-line">
          <span className="ln" aria-hidden="true">
            {i + 1}
          </span>
          {l}
          {'\n'}
        </span>
      ))}
    </pre>
  );
}

export default function ExecutionDetail() {
  const { execution: ex, queue, logs, logsError, logsTruncated, calls, egress, egressError, artifacts, artifactsError, names } = useLoaderData<typeof loader>();
  const result = useActionData<typeof action>();
  const navigation = useNavigation();
  const active = ACTIVE_STATUSES.has(ex.status);
  const live = useLiveLog(ex.id, active);
  const status = active && live.status ? live.status : ex.status;
  const isActive = ACTIVE_STATUSES.has(status);
  const entries = useMemo(() => mergeLogs(logs, active ? live.entries : []), [logs, active, live.entries]);
  const cancelling = navigation.state !== 'idle' && navigation.formData?.get('intent') === 'cancel';
  const variables = Object.entries(ex.variables ?? {});

  return (
    <>
      {isActive && (
        <noscript>
          <meta httpEquiv="refresh" content="3" />
        </noscript>
      )}
      <PageHeader
        title={
          <>
            Execution <span className="mono">{shortId(ex.id)}</span> <StatusBadge status={status} />
          </>
        }
        description={
          <>
            {LANGUAGE_LABELS[ex.language] ?? ex.language} · by {names[ex.userId] ?? shortId(ex.userId)} · <span className="mono small">{ex.id}</span>
          </>
        }
        actions={
          <>
            <Link to={`/run?from=${ex.id}`} className="btn">
              Run again
            </Link>
            {isActive && (
              <Form method="post" replace>
                <input type="hidden" name="intent" value="cancel" />
                <button type="submit" className="btn btn-danger" disabled={cancelling}>
                  {cancelling ? 'Cancelling…' : 'Cancel'}
                </button>
              </Form>
            )}
          </>
        }
      />
      {result?.formError && <Alert>{result.formError}</Alert>}
      {result?.ok && result.message && isActive && <Alert kind="info">{result.message}</Alert>}
      {isActive && status === 'queued' && queue && (
        <Alert kind="info" title="Queued.">
          <span data-testid="queue-note">{queue}</span>
        </Alert>
      )}
      {!isActive && <Explanations items={explain(ex, entries, egress)} />}

      <div className="grid-2">
        <Card title="Status and timings" id="summary">
          <Facts
            items={[
              ['Status', <StatusBadge key="s" status={status} />],
              ['Exit code', <span key="x" className="mono" data-testid="exit-code">{ex.exitCode ?? '—'}</span>],
              ['Duration', formatDuration(ex.durationMs)],
              ['Created', <Time key="c" iso={ex.createdAt} />],
              ['Started', <Time key="st" iso={ex.startedAt} />],
              ['Finished', <Time key="f" iso={ex.finishedAt} />],
              ['Deadline', <Time key="d" iso={ex.deadlineAt} />],
              ['Attempt', ex.attempt],
              ['Isolation', ex.isolation],
              ['Node', ex.nodeId ? <span key="n" className="mono small">{ex.nodeId}</span> : '—'],
            ]}
          />
        </Card>
        <Card title="Limits applied" id="limits">
          <Facts
            items={[
              ['Timeout', formatDuration(ex.limits.timeoutMs)],
              ['Memory', `${ex.limits.memoryMb} MiB`],
              ['CPUs', ex.limits.cpus],
              ['Processes', ex.limits.pids],
              ['CPU time used', ex.usage?.cpuMs !== undefined ? formatDuration(ex.usage.cpuMs) : '—'],
              ['Memory peak', formatBytes(ex.usage?.memoryPeakBytes)],
              ['Egress allowed', ex.egress.allow.length ? ex.egress.allow.join(', ') : 'rules only'],
              ['Secrets granted', ex.secretsGranted.length ? ex.secretsGranted.join(', ') : 'none'],
              ['Secrets read', ex.secretsRead?.length ? ex.secretsRead.join(', ') : 'none'],
              ['Environment', ex.env.length ? ex.env.join(', ') : 'none'],
            ]}
          />
        </Card>
      </div>

      {ex.dependencies && (
        <Card title="Packages" id="packages">
          <p className="muted small">
            Asked for: <span className="mono">{requestedPackages(ex.dependencies).join(', ') || 'none'}</span>. The install step is in the log, as system lines.
          </p>
          {ex.installed ? (
            <Table columns={['Package', 'Version installed']}>
              {ex.installed.map((p) => (
                <tr key={p.name}>
                  <td className="mono">{p.name}</td>
                  <td className="mono">{p.version}</td>
                </tr>
              ))}
            </Table>
          ) : (
            <p className="muted" data-testid="installed-none">
              {isActive ? 'Not installed yet.' : 'Nothing was installed: see the error and the log.'}
            </p>
          )}
        </Card>
      )}

      <Card title="Logs" id="logs">
        {logsError && <Alert>{logsError}</Alert>}
        {active && live.failed && <Alert kind="warning">The live log was interrupted; reload the page to see the rest.</Alert>}
        <LogViewer
          entries={entries}
          following={isActive}
          downloadHref={`/executions/${ex.id}/log.txt`}
          live={
            active && live.streaming ? (
              <span className="live" data-testid="live">
                <span className="pulse" aria-hidden="true" /> Live
              </span>
            ) : null
          }
        />
        {(logsTruncated || ex.logsTruncated) && <p className="muted small">The log was truncated: the execution wrote more than the server keeps.</p>}
      </Card>

      <div className="grid-2">
        <Card title="Output" id="output">
          <OutputPanel executionId={ex.id} output={ex.output} empty={isActive ? 'Not set yet.' : 'The script set no output.'} />
          <h3>Condition</h3>
          <p data-testid="condition">
            {ex.condition === null || ex.condition === undefined ? <span className="muted">Not set</span> : <code>{String(ex.condition)}</code>}
          </p>
        </Card>
        <Card title="Input" id="input">
          <JsonBlock value={ex.input} empty="No input was given." label="Input" />
          {ex.event && (
            <>
              <h3>Event</h3>
              <JsonBlock value={ex.event} label="Event" />
            </>
          )}
        </Card>
      </div>

      <ArtifactsCard executionId={ex.id} list={artifacts} error={artifactsError} active={isActive} truncated={ex.artifactsTruncated} expiresAt={ex.artifactsExpireAt} />

      <Card title="Variables it set" id="variables">
        {variables.length ? (
          <Table columns={['Key', 'Value']}>
            {variables.map(([k, v]) => (
              <tr key={k}>
                <td className="mono">{k}</td>
                <td>
                  <pre className="code inline-json">{JSON.stringify(v, null, 2)}</pre>
                </td>
              </tr>
            ))}
          </Table>
        ) : (
          <p className="muted">{isActive ? 'None yet.' : 'This execution set no variables.'}</p>
        )}
      </Card>

      <Card title="Egress requests" id="egress">
        {egressError ? (
          <Alert kind="warning">The egress log is not available: {egressError}</Alert>
        ) : egress.length ? (
          <Table columns={['Time', 'Request', 'Decision', 'Reason']}>
            {egress.map((e, i) => (
              <tr key={i}>
                <td>
                  <Time iso={e.ts} />
                </td>
                <td className="mono small">
                  {e.method} {e.host}
                  {e.port ? `:${e.port}` : ''}
                </td>
                <td>
                  <span className={`badge ${e.allowed ? 'badge-succeeded' : 'badge-failed'}`}>{e.allowed ? 'Allowed' : 'Denied'}</span>
                </td>
                <td className="small">{e.allowed ? 'allowed by a rule' : egressReasonText(e.reason, e.port, e.address)}</td>
              </tr>
            ))}
          </Table>
        ) : (
          <p className="muted">No outbound requests{isActive ? ' so far' : ''}.</p>
        )}
      </Card>

      <Card title="Runtime API calls" id="calls">
        {calls.length ? (
          <Table columns={['Time', 'Call', 'Status', 'Detail']}>
            {calls.map((c, i) => (
              <tr key={i}>
                <td>
                  <Time iso={c.ts} />
                </td>
                <td className="mono small">
                  {c.method} {c.path}
                </td>
                <td>
                  <span className={`badge ${c.status < 400 ? 'badge-succeeded' : 'badge-failed'}`}>{c.status}</span>
                </td>
                <td className="small">{c.detail ?? '—'}</td>
              </tr>
            ))}
          </Table>
        ) : (
          <p className="muted">The script made no SDK calls{isActive ? ' so far' : ''}.</p>
        )}
      </Card>

      <Card title="Script" id="script">
        <ScriptView script={ex.script} />
      </Card>
    </>
  );
}

