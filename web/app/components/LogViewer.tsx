import { type CSSProperties, type ReactNode, memo, useEffect, useMemo, useRef, useState } from 'react';
import { LOG_TEXT, parseAnsi, segmentStyle } from '../lib/ansi';
import { copyText } from '../lib/clipboard';
import { LOG_STREAMS, type LogLine, filterLines, findMatches, linesToText, toLines } from '../lib/logs';
import { formatClock, formatUtc, zoneLabel } from '../lib/time';
import { useTimeZone } from '../lib/timezone';
import type { LogEntry, LogStream } from '../lib/types';

/** Each stream's own text colour (styles.css), which coloured segments must stay readable against. */
const STREAM_TEXT: Record<LogStream, string> = { stdout: LOG_TEXT, stderr: '#fca5a5', system: '#93c5fd' };

/** `text` with the parts that `ranges` (offsets from `offset`) cover marked. */
function highlight(text: string, offset: number, ranges: [number, number][]): ReactNode {
  const out: ReactNode[] = [];
  let at = 0;
  for (const [from, to] of ranges) {
    const a = Math.max(from - offset, 0);
    const b = Math.min(to - offset, text.length);
    if (b <= a) continue;
    if (a > at) out.push(text.slice(at, a));
    out.push(<mark key={a}>{text.slice(a, b)}</mark>);
    at = b;
  }
  if (!out.length) return text;
  if (at < text.length) out.push(text.slice(at));
  return out;
}

function LineText({ line, query }: { line: LogLine; query: string }) {
  const ranges = findMatches(line.plain, query);
  const out: ReactNode[] = [];
  let offset = 0;
  line.parts.forEach((part, p) => {
    const segments = parseAnsi(part.text).map((seg, i) => {
      const style = segmentStyle(seg.state, STREAM_TEXT[line.stream]);
      const content = highlight(seg.text, offset, ranges);
      offset += seg.text.length;
      return Object.keys(style).length ? (
        <span key={i} style={style as CSSProperties}>
          {content}
        </span>
      ) : (
        <span key={i}>{content}</span>
      );
    });
    out.push(
      part.escaped ? (
        <span key={p} className="log-escaped" title="Bytes that are not text are shown as \xHH, a backslash as \\">
          {segments}
        </span>
      ) : (
        <span key={p}>{segments}</span>
      ),
    );
  });
  return <span className="log-text">{out}</span>;
}

const LineView = memo(
  function LineView({ line, query, timeZone }: { line: LogLine; query: string; timeZone: string }) {
    return (
      <div className={`log-line log-${line.stream}`} data-stream={line.stream} data-seq={line.seq}>
        <span className="log-ts" title={formatUtc(line.ts)}>
          {formatClock(line.ts, timeZone)}
        </span>
        <span className="log-stream">{line.stream}</span>
        <LineText line={line} query={query} />
      </div>
    );
  },
  (a, b) => a.line.seq === b.line.seq && a.line.plain === b.line.plain && a.line.parts.length === b.line.parts.length && a.query === b.query && a.timeZone === b.timeZone,
);

/**
 * An execution's log: ANSI colours shown as colours, times in the viewer's zone (UTC on hover), and, with
 * JavaScript, search, a toggle per stream and copying the text without times. Downloading works without.
 */
export function LogViewer({
  entries,
  following,
  downloadHref,
  live,
}: {
  entries: LogEntry[];
  following: boolean;
  downloadHref: string;
  live?: ReactNode;
}) {
  const timeZone = useTimeZone();
  const [js, setJs] = useState(false);
  const [shown, setShown] = useState<ReadonlySet<LogStream>>(() => new Set(LOG_STREAMS));
  const [query, setQuery] = useState('');
  const [copied, setCopied] = useState<string | null>(null);
  const box = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  useEffect(() => setJs(true), []);

  const lines = useMemo(() => toLines(entries), [entries]);
  const visible = useMemo(() => filterLines(lines, { streams: shown, query }), [lines, shown, query]);
  const counts = useMemo(() => {
    const c: Record<LogStream, number> = { stdout: 0, stderr: 0, system: 0 };
    for (const l of lines) c[l.stream]++;
    return c;
  }, [lines]);
  const filtered = visible.length !== lines.length;

  useEffect(() => {
    const el = box.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [visible.length]);
  useEffect(() => {
    if (!copied) return;
    const t = setTimeout(() => setCopied(null), 2500);
    return () => clearTimeout(t);
  }, [copied]);

  const toggle = (s: LogStream) =>
    setShown((prev) => {
      const next = new Set(prev);
      if (next.has(s)) next.delete(s);
      else next.add(s);
      return next;
    });

  return (
    <div className="log-viewer">
      <div className="log-toolbar">
        {js && (
          <>
            <div className="log-search">
              <label htmlFor="log-search" className="sr-only">
                Search the log
              </label>
              <input id="log-search" type="search" placeholder="Search the log" value={query} onChange={(e) => setQuery(e.target.value)} autoComplete="off" spellCheck={false} />
            </div>
            <div className="log-streams" role="group" aria-label="Streams shown">
              {LOG_STREAMS.map((s) => (
                <button key={s} type="button" className={`stream-toggle log-${s}`} aria-pressed={shown.has(s)} onClick={() => toggle(s)}>
                  {s} <span className="count">{counts[s]}</span>
                </button>
              ))}
            </div>
          </>
        )}
        <div className="log-actions">
          {live}
          {js && (
            <button
              type="button"
              className="btn btn-small"
              disabled={!visible.length}
              onClick={() => void copyText(linesToText(visible, { timestamps: false })).then((ok) => setCopied(ok ? `Copied ${visible.length} line${visible.length === 1 ? '' : 's'}` : 'Could not copy'))}
            >
              Copy text
            </button>
          )}
          <a className="btn btn-small" href={downloadHref} download>
            Download
          </a>
        </div>
      </div>
      <p className="log-status small" aria-live="polite">
        <span>
          {timeZone === 'UTC' ? 'Times in UTC.' : `Times in ${timeZone.replace(/_/g, ' ')} (${zoneLabel(timeZone)}); UTC on hover.`}
        </span>
        {filtered && (
          <span data-testid="log-count">
            {' '}
            Showing {visible.length} of {lines.length} lines.
          </span>
        )}
        {copied && <span> {copied}.</span>}
      </p>
      {!lines.length ? (
        <div className="log log-empty" data-testid="logs">
          {following ? 'Waiting for the first line…' : 'This execution wrote nothing to stdout or stderr.'}
        </div>
      ) : (
        <div
          className="log"
          ref={box}
          role="log"
          aria-label="Execution log"
          tabIndex={0}
          data-testid="logs"
          onScroll={(e) => {
            const el = e.currentTarget;
            stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
          }}
        >
          {visible.map((l) => (
            <LineView key={l.seq} line={l} query={query} timeZone={timeZone} />
          ))}
          {!visible.length && <div className="log-none">No line matches{query ? ` “${query}”` : ''} in the streams shown.</div>}
        </div>
      )}
    </div>
  );
}
