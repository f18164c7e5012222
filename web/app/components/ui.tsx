import { Link } from '@remix-run/react';
import { Children, type ReactElement, type ReactNode, cloneElement, isValidElement } from 'react';
import { formatJson } from '../lib/format';
import { formatDateTime, formatUtc, zoneLabel } from '../lib/time';
import { useTimeZone } from '../lib/timezone';
import { ACTIVE_STATUSES, STATUS_LABELS, isStatus } from '../lib/types';

export function StatusBadge({ status }: { status: string }) {
  const label = isStatus(status) ? STATUS_LABELS[status] : status;
  return (
    <span className={`badge badge-${status}`} data-status={status}>
      {ACTIVE_STATUSES.has(status) && <span className="pulse" aria-hidden="true" />}
      {label}
    </span>
  );
}

export function PageHeader({ title, description, actions }: { title: ReactNode; description?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{title}</h1>
        {description && <p className="page-description">{description}</p>}
      </div>
      {actions && <div className="page-actions">{actions}</div>}
    </header>
  );
}

export function Alert({ kind = 'error', title, children }: { kind?: 'error' | 'success' | 'info' | 'warning'; title?: string; children: ReactNode }) {
  return (
    <div className={`alert alert-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {title && <strong>{title} </strong>}
      {children}
    </div>
  );
}

export function EmptyState({ title, children, action }: { title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <p className="empty-title">{title}</p>
      {children && <p className="empty-text">{children}</p>}
      {action && <div className="empty-action">{action}</div>}
    </div>
  );
}

/** Props that tie an input to its label, hint and error message. */
export function fieldProps(id: string, error?: string | null, hint?: boolean) {
  const describedBy = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(' ');
  return {
    id,
    name: id,
    'aria-invalid': error ? (true as const) : undefined,
    'aria-describedby': describedBy || undefined,
  };
}

export function Field({
  id,
  label,
  error,
  hint,
  children,
  className,
}: {
  id: string;
  label: ReactNode;
  error?: string | null;
  hint?: ReactNode;
  children: ReactNode;
  className?: string;
}) {
  return (
    <div className={`field${error ? ' field-invalid' : ''}${className ? ` ${className}` : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {hint && (
        <p className="field-hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {error && (
        <p className="field-error" id={`${id}-error`} data-field-error={id}>
          {error}
        </p>
      )}
    </div>
  );
}

export function JsonBlock({ value, empty = 'None', label }: { value: unknown; empty?: string; label?: string }) {
  if (value === undefined || value === null) return <p className="muted">{empty}</p>;
  return (
    <pre className="code json" aria-label={label} tabIndex={0}>
      {formatJson(value)}
    </pre>
  );
}

/** A moment in the viewer's time zone, labelled with the zone; the exact UTC time on hover. */
export function Time({ iso }: { iso: string | null | undefined }) {
  const tz = useTimeZone();
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={formatUtc(iso)} className="time">
      {formatDateTime(iso, tz)} <span className="tz">{zoneLabel(tz, new Date(iso))}</span>
    </time>
  );
}

export function Stat({ label, value, hint, tone }: { label: string; value: ReactNode; hint?: ReactNode; tone?: string }) {
  return (
    <div className={`stat${tone ? ` stat-${tone}` : ''}`}>
      <div className="stat-label">{label}</div>
      <div className="stat-value">{value}</div>
      {hint && <div className="stat-hint">{hint}</div>}
    </div>
  );
}

export function Card({ title, children, actions, id }: { title?: ReactNode; children: ReactNode; actions?: ReactNode; id?: string }) {
  return (
    <section className="card" aria-labelledby={title && id ? `${id}-title` : undefined} id={id}>
      {(title || actions) && (
        <div className="card-header">
          {title && <h2 id={id ? `${id}-title` : undefined}>{title}</h2>}
          {actions}
        </div>
      )}
      {children}
    </section>
  );
}

/** Name-value pairs. */
export function Facts({ items }: { items: [ReactNode, ReactNode][] }) {
  return (
    <dl className="facts">
      {items.map(([k, v], i) => (
        <div key={i}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Gives each cell of each row the name of its column (`data-label`), which narrow screens show beside it. */
export function labelCells(rows: ReactNode, labels: string[]): ReactNode {
  return Children.map(rows, (row) => {
    if (!isValidElement(row)) return row;
    const tr = row as ReactElement<{ children?: ReactNode }>;
    let i = 0;
    return cloneElement(
      tr,
      undefined,
      Children.map(tr.props.children, (cell) => {
        if (!isValidElement(cell)) return cell;
        const label = labels[i++];
        return label ? cloneElement(cell as ReactElement<Record<string, unknown>>, { 'data-label': label }) : cell;
      }),
    );
  });
}

/**
 * A table with a header row of `columns` (a `false` column is left out); `actions` adds a last column, named only
 * for screen readers, for each row's buttons. The rows are the children. On a narrow screen each row becomes a
 * card with its cells labelled.
 */
export function Table({ columns, actions, testId, children }: { columns: (string | false)[]; actions?: boolean; testId?: string; children: ReactNode }) {
  const shown = columns.filter((c): c is string => c !== false);
  return (
    <div className="table-wrap">
      <table className="table table-stack" data-testid={testId}>
        <thead>
          <tr>
            {shown.map((c) => (
              <th key={c} scope="col">
                {c}
              </th>
            ))}
            {actions && (
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            )}
          </tr>
        </thead>
        <tbody>{labelCells(children, shown)}</tbody>
      </table>
    </div>
  );
}

/** The page header's way to the Run page, on the pages that list executions. */
export function RunScriptButton() {
  return (
    <Link to="/run" className="btn btn-primary">
      Run a script
    </Link>
  );
}
