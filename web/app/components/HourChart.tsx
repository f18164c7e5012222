import { formatHourOf, zoneLabel } from '../lib/time';
import { useTimeZone } from '../lib/timezone';
import { type ExecutionStatus, STATUS_LABELS, type Stats, inOrder } from '../lib/types';

/** The order the bars stack in, every status once. */
const SERIES = inOrder<ExecutionStatus>()(['succeeded', 'failed', 'error', 'timed_out', 'oom_killed', 'cancelled', 'running', 'queued'] as const);

/** Executions per hour as stacked SVG bars, drawn on the server; no chart library, no client JavaScript. */
export function HourChart({ perHour }: { perHour: Stats['perHour'] }) {
  const tz = useTimeZone();
  const zone = zoneLabel(tz);
  const W = 760;
  const H = 220;
  // Room below and to the left for axis labels, also when a phone's stylesheet draws them twice as large.
  const pad = { top: 14, right: 8, bottom: 34, left: 48 };
  const innerW = W - pad.left - pad.right;
  const innerH = H - pad.top - pad.bottom;
  const max = Math.max(1, ...perHour.map((h) => h.total));
  const niceMax = max <= 4 ? max : Math.ceil(max / 4) * 4;
  const slot = innerW / Math.max(1, perHour.length);
  const barW = Math.max(2, slot * 0.7);
  const y = (v: number) => pad.top + innerH - (v / niceMax) * innerH;
  const ticks = niceMax <= 4 ? Array.from({ length: niceMax + 1 }, (_, i) => i) : [0, niceMax / 4, niceMax / 2, (3 * niceMax) / 4, niceMax];
  const total = perHour.reduce((n, h) => n + h.total, 0);
  const present = SERIES.filter((s) => perHour.some((h) => Number(h[s] ?? 0) > 0));

  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`Executions per hour over the last ${perHour.length} hours: ${total} in all`}>
        {ticks.map((t) => (
          <g key={t}>
            <line x1={pad.left} x2={W - pad.right} y1={y(t)} y2={y(t)} className="chart-grid" />
            <text x={pad.left - 6} y={y(t)} textAnchor="end" dominantBaseline="central" className="chart-axis">
              {t}
            </text>
          </g>
        ))}
        {perHour.map((h, i) => {
          const x = pad.left + i * slot + (slot - barW) / 2;
          let acc = 0;
          const parts = SERIES.map((s) => [s, Number(h[s] ?? 0)] as const).filter(([, n]) => n > 0);
          const other = h.total - parts.reduce((n, [, v]) => n + v, 0);
          const title = `${formatHourOf(h.hour, tz)} ${zoneLabel(tz, new Date(h.hour))}: ${h.total} execution${h.total === 1 ? '' : 's'}${parts.length ? ` (${parts.map(([s, n]) => `${n} ${STATUS_LABELS[s].toLowerCase()}`).join(', ')})` : ''}`;
          return (
            <g key={h.hour}>
              <title>{title}</title>
              <rect x={pad.left + i * slot} y={pad.top} width={slot} height={innerH} className="chart-hover" />
              {[...parts, ...(other > 0 ? ([['other', other]] as const) : [])].map(([s, n]) => {
                const top = y(acc + n);
                const height = y(acc) - top;
                acc += n;
                return <rect key={s} x={x} y={top} width={barW} height={Math.max(height, 1)} rx={2} className={`bar bar-${s}`} />;
              })}
              {i % 3 === 0 && (
                <text x={x + barW / 2} y={H - 6} textAnchor="middle" className="chart-axis">
                  {formatHourOf(h.hour, tz)}
                </text>
              )}
            </g>
          );
        })}
      </svg>
      <figcaption className="legend">
        {(present.length ? present : (['succeeded', 'failed'] as const)).map((s) => (
          <span key={s}>
            <i className={`swatch bar-${s}`} aria-hidden="true" /> {STATUS_LABELS[s]}
          </span>
        ))}
        <span className="muted">{tz === 'UTC' ? 'Hours in UTC' : `Hours in ${tz.replace(/_/g, ' ')} (${zone})`}</span>
      </figcaption>
    </figure>
  );
}
