/**
 * Times in the viewer's time zone. The browser tells its zone in a cookie (TIME_ZONE_COOKIE) so that the server's
 * HTML already shows it; before it has (the first page, or without JavaScript) times are in UTC, labelled so.
 */

export const TIME_ZONE_COOKIE = 'cronium_tz';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string, opts: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${timeZone}|${JSON.stringify(opts)}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', ...opts });
    formatters.set(key, f);
  }
  return f;
}

/** An IANA zone this runtime knows (`Europe/Berlin`), else null. */
export function validTimeZone(tz: unknown): string | null {
  if (typeof tz !== 'string' || !tz || tz.length > 64 || !/^[A-Za-z0-9_+\-/]+$/.test(tz)) return null;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return tz;
  } catch {
    return null;
  }
}

/** The zone named in a Cookie header, or UTC. */
export function timeZoneFromCookie(header: string | null): string {
  const m = new RegExp(`(?:^|;\\s*)${TIME_ZONE_COOKIE}=([^;]*)`).exec(header ?? '');
  let value: string | undefined;
  try {
    value = m ? decodeURIComponent(m[1]!) : undefined;
  } catch {
    value = undefined;
  }
  return validTimeZone(value) ?? 'UTC';
}

function parse(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

function parts(d: Date, timeZone: string, opts: Intl.DateTimeFormatOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of formatter(timeZone, opts).formatToParts(d)) out[p.type] = p.value;
  return out;
}

/** The zone's short name at that moment: `UTC`, `EST`, `GMT+5:30`… */
export function zoneLabel(timeZone: string, at: Date = new Date()): string {
  if (timeZone === 'UTC') return 'UTC';
  return parts(at, timeZone, { timeZoneName: 'short' }).timeZoneName ?? timeZone;
}

/** `2026-05-01 14:03:22` in the zone. */
export function formatDateTime(iso: string | null | undefined, timeZone: string): string {
  const d = parse(iso);
  if (!d) return '—';
  const p = parts(d, timeZone, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}`;
}

/** `14:03:22.123` in the zone (log lines). */
export function formatClock(iso: string | null | undefined, timeZone: string): string {
  const d = parse(iso);
  if (!d) return '';
  const p = parts(d, timeZone, { hour: '2-digit', minute: '2-digit', second: '2-digit', fractionalSecondDigits: 3 });
  return `${p.hour}:${p.minute}:${p.second}.${p.fractionalSecond}`;
}

/** `14:00` in the zone (the chart's hours; `05:30` in a zone half an hour off). */
export function formatHourOf(iso: string, timeZone: string): string {
  const d = parse(iso);
  if (!d) return '';
  const p = parts(d, timeZone, { hour: '2-digit', minute: '2-digit' });
  return `${p.hour}:${p.minute}`;
}

/** `2026-05-01 12:03:22.123 UTC`: the exact time, shown on hover. */
export function formatUtc(iso: string | null | undefined): string {
  const d = parse(iso);
  return d ? `${d.toISOString().replace('T', ' ').replace('Z', '')} UTC` : '';
}
