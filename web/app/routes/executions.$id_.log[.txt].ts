import type { LoaderFunctionArgs } from '@remix-run/node';
import { requireUser } from '../lib/auth.server';
import { linesToText, toLines, toLogEntry } from '../lib/logs';
import type { LogEntry } from '../lib/types';

/**
 * The whole log of an execution as a text file: one line per line, each with its UTC time and stream, colours
 * taken out. A plain link, so it works without JavaScript.
 */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  const id = params.id ?? '';
  if (!/^[0-9a-f-]{36}$/i.test(id)) return new Response('not found', { status: 404 });
  const r = await a.api<{ entries: unknown[]; truncated: boolean }>('GET', `/api/v1/executions/${id}/logs`);
  if (!r.ok) return new Response(`${r.error.message}\n`, { status: r.status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  const entries = r.data.entries.map(toLogEntry).filter((e): e is LogEntry => e !== null);
  const text = linesToText(toLines(entries), { timestamps: true });
  return new Response(text, {
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'content-disposition': `attachment; filename="execution-${id.slice(0, 8)}.log"`,
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}
