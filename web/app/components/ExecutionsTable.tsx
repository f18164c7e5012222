import { Link, useNavigate } from '@remix-run/react';
import { formatDuration, shortId } from '../lib/format';
import { type ExecutionSummary, LANGUAGE_LABELS } from '../lib/types';
import { StatusBadge, Time, labelCells } from './ui';

/** Executions as a table; the id is a link, and with JavaScript the whole row opens the detail. */
export function ExecutionsTable({ items, userNames, caption }: { items: ExecutionSummary[]; userNames: Record<string, string>; caption: string }) {
  const navigate = useNavigate();
  return (
    <div className="table-wrap">
      <table className="table table-clickable table-stack table-compact">
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            <th scope="col">Status</th>
            <th scope="col">Execution</th>
            <th scope="col">Language</th>
            <th scope="col">User</th>
            <th scope="col">Started</th>
            <th scope="col" className="num">
              Duration
            </th>
          </tr>
        </thead>
        <tbody>
          {labelCells(items.map((e) => (
            <tr key={e.id} onClick={(ev) => !(ev.target as HTMLElement).closest('a') && navigate(`/executions/${e.id}`)} data-execution-id={e.id}>
              <td>
                <StatusBadge status={e.status} />
              </td>
              <td>
                <Link to={`/executions/${e.id}`} className="mono" aria-label={`Execution ${shortId(e.id)}`}>
                  {shortId(e.id)}
                </Link>
                {e.event?.name && <span className="muted small"> · {e.event.name}</span>}
              </td>
              <td>
                <span className={`lang lang-${e.language}`}>{LANGUAGE_LABELS[e.language] ?? e.language}</span>
              </td>
              <td>{userNames[e.userId] ?? <span className="mono small">{shortId(e.userId)}</span>}</td>
              <td>{e.startedAt ? <Time iso={e.startedAt} /> : <span className="muted">queued <Time iso={e.createdAt} /></span>}</td>
              <td className="num">{formatDuration(e.durationMs)}</td>
            </tr>
          )), ['Status', 'Execution', 'Language', 'User', 'Started', 'Duration'])}
        </tbody>
      </table>
    </div>
  );
}
