import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Link, useLoaderData } from '@remix-run/react';
import { ExecutionsTable } from '../components/ExecutionsTable';
import { HourChart } from '../components/HourChart';
import { Alert, Card, EmptyState, PageHeader, RunScriptButton, Stat } from '../components/ui';
import { requireUser, unwrap } from '../lib/auth.server';
import { formatDuration, formatPercent } from '../lib/format';
import { useAutoRevalidate } from '../lib/hooks';
import type { ExecutionSummary, Stats } from '../lib/types';
import { userNames } from '../lib/users.server';

export const meta: MetaFunction = () => [{ title: 'Overview · Cronium Sandbox' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  const scope = a.user.role === 'admin' ? 'all' : 'mine';
  const [stats, recent, names] = await Promise.all([
    a.api<Stats>('GET', `/api/v1/stats?hours=24&scope=${scope}`),
    a.api<{ items: ExecutionSummary[] }>('GET', '/api/v1/executions?limit=8'),
    userNames(a),
  ]);
  return { stats: unwrap(stats), recent: recent.ok ? recent.data.items : [], recentError: recent.ok ? null : recent.error.message, names, isAdmin: a.user.role === 'admin' };
}

export default function Overview() {
  const { stats, recent, recentError, names, isAdmin } = useLoaderData<typeof loader>();
  useAutoRevalidate(stats.running + stats.queued > 0 ? 3000 : 15000);
  const finished = stats.total - stats.running - stats.queued;
  return (
    <>
      <PageHeader
        title="Overview"
        description={isAdmin ? 'All users’ executions over the last 24 hours.' : 'Your executions over the last 24 hours.'}
        actions={<RunScriptButton />}
      />
      <div className="stats" data-testid="stats">
        <Stat label="Running now" value={stats.running} tone={stats.running ? 'running' : undefined} />
        <Stat label="Queued now" value={stats.queued} />
        <Stat label="Success rate" value={formatPercent(stats.successRate)} hint={`${finished} finished in 24 h`} tone="success" />
        <Stat label="Timed out" value={stats.timedOut} tone={stats.timedOut ? 'warning' : undefined} />
        <Stat label="OOM killed" value={stats.oomKilled} tone={stats.oomKilled ? 'danger' : undefined} />
        <Stat label="p50 duration" value={formatDuration(stats.p50DurationMs)} />
        <Stat label="p95 duration" value={formatDuration(stats.p95DurationMs)} />
      </div>
      <Card title="Executions per hour" id="per-hour">
        {stats.total === 0 ? (
          <EmptyState title="No executions in the last 24 hours" action={<Link to="/run" className="btn">Run your first script</Link>}>
            Run a script and its progress shows up here.
          </EmptyState>
        ) : (
          <HourChart perHour={stats.perHour} />
        )}
      </Card>
      <Card
        title="Recent executions"
        id="recent"
        actions={
          <Link to="/executions" className="small">
            All executions →
          </Link>
        }
      >
        {recentError ? (
          <Alert>{recentError}</Alert>
        ) : recent.length ? (
          <ExecutionsTable items={recent} userNames={names} caption="Recent executions" />
        ) : (
          <EmptyState title="Nothing has run yet" action={<Link to="/run" className="btn">Open the Run page</Link>}>
            Pick a language, start from an example and press Run.
          </EmptyState>
        )}
      </Card>
    </>
  );
}
