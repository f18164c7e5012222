import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node';
import { Form, Link, useLoaderData, useSubmit } from '@remix-run/react';
import { ExecutionsTable } from '../components/ExecutionsTable';
import { Alert, Card, EmptyState, PageHeader, RunScriptButton } from '../components/ui';
import { requireUser } from '../lib/auth.server';
import { useAutoRevalidate } from '../lib/hooks';
import { pageLinks, readList } from '../lib/pagination';
import { executionsQuery } from '../lib/queries';
import { type ExecutionSummary, LANGUAGES, LANGUAGE_LABELS, STATUSES, STATUS_LABELS } from '../lib/types';
import { userNames } from '../lib/users.server';

export const meta: MetaFunction = () => [{ title: 'Executions · Cronium Sandbox' }];

export async function loader({ request }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  const search = new URL(request.url).searchParams;
  const isAdmin = a.user.role === 'admin';
  const [r, names] = await Promise.all([a.api<{ items: ExecutionSummary[]; nextCursor: string | null }>('GET', `/api/v1/executions?${executionsQuery(search, isAdmin)}`), userNames(a)]);
  const filters = {
    status: readList(search, 'status', STATUSES),
    language: readList(search, 'language', LANGUAGES)[0] ?? '',
    user: isAdmin ? (search.get('user') ?? '') : '',
  };
  if (!r.ok) {
    const staleCursor = r.status === 400 && r.error.field === 'cursor';
    return {
      items: [] as ExecutionSummary[],
      error: staleCursor ? 'That page link is no longer valid.' : r.error.message,
      links: pageLinks(search, null),
      names,
      filters,
      isAdmin,
    };
  }
  return { items: r.data.items, error: null, links: pageLinks(search, r.data.nextCursor), names, filters, isAdmin };
}

export default function Executions() {
  const { items, error, links, names, filters, isAdmin } = useLoaderData<typeof loader>();
  const submit = useSubmit();
  // The first page follows new executions by itself (faster while some run); older pages stay as they are.
  useAutoRevalidate(items.some((e) => e.status === 'running' || e.status === 'queued') ? 2000 : 5000, links.page === 1);
  const filtered = filters.status.length > 0 || !!filters.language || !!filters.user;
  return (
    <>
      <PageHeader
        title="Executions"
        description={isAdmin ? 'Every user’s executions, newest first.' : 'Your executions, newest first.'}
        actions={<RunScriptButton />}
      />
      <Card>
        <Form method="get" className="filters" onChange={(e) => submit(e.currentTarget, { replace: true })} aria-label="Filter executions">
          <fieldset className="chips">
            <legend>Status</legend>
            {STATUSES.map((s) => (
              <label key={s} className={`chip chip-${s}`}>
                <input type="checkbox" name="status" value={s} defaultChecked={filters.status.includes(s)} />
                {STATUS_LABELS[s]}
              </label>
            ))}
          </fieldset>
          <div className="filter-row">
            <div className="field field-inline">
              <label htmlFor="language">Language</label>
              <select id="language" name="language" defaultValue={filters.language}>
                <option value="">Any language</option>
                {LANGUAGES.map((l) => (
                  <option key={l} value={l}>
                    {LANGUAGE_LABELS[l]}
                  </option>
                ))}
              </select>
            </div>
            {isAdmin && (
              <div className="field field-inline">
                <label htmlFor="user">User</label>
                <select id="user" name="user" defaultValue={filters.user}>
                  <option value="">Any user</option>
                  {Object.entries(names).map(([id, name]) => (
                    <option key={id} value={id}>
                      {name}
                    </option>
                  ))}
                </select>
              </div>
            )}
            <button type="submit" className="btn">
              Apply filters
            </button>
            {filtered && (
              <Link to="/executions" className="btn btn-ghost">
                Clear
              </Link>
            )}
          </div>
        </Form>
        {error ? (
          <Alert>
            {error}{' '}
            <Link to="/executions">Go to the first page</Link>
          </Alert>
        ) : items.length ? (
          <ExecutionsTable items={items} userNames={names} caption="Executions" />
        ) : filtered ? (
          <EmptyState title="No executions match these filters" action={<Link to="/executions" className="btn">Clear the filters</Link>} />
        ) : links.page > 1 ? (
          <EmptyState title="No more executions" action={<Link to="/executions" className="btn">Back to the newest</Link>} />
        ) : (
          <EmptyState title="No executions yet" action={<Link to="/run" className="btn btn-primary">Run a script</Link>}>
            Scripts you run appear here with their status and duration.
          </EmptyState>
        )}
        <nav className="pager" aria-label="Pages">
          {links.newer ? (
            <Link to={links.newer} rel="prev" className="btn btn-small">
              ← Newer
            </Link>
          ) : (
            <span className="btn btn-small" aria-disabled="true">
              ← Newer
            </span>
          )}
          <span className="muted small">Page {links.page}</span>
          {links.older ? (
            <Link to={links.older} rel="next" className="btn btn-small">
              Older →
            </Link>
          ) : (
            <span className="btn btn-small" aria-disabled="true">
              Older →
            </span>
          )}
        </nav>
      </Card>
    </>
  );
}
