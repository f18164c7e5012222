import type { LoaderFunctionArgs } from '@remix-run/node';
import { requireUser } from '../lib/auth.server';
import type { Execution } from '../lib/types';

/** The output an execution set, as a JSON file (a plain link: works without JavaScript). */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  const id = params.id ?? '';
  const plain = { 'content-type': 'text/plain; charset=utf-8' };
  if (!/^[0-9a-f-]{36}$/i.test(id)) return new Response('not found\n', { status: 404, headers: plain });
  const r = await a.api<Execution>('GET', `/api/v1/executions/${id}`);
  if (!r.ok) return new Response(`${r.error.message}\n`, { status: r.status, headers: plain });
  if (r.data.output === null || r.data.output === undefined) return new Response('the execution set no output\n', { status: 404, headers: plain });
  return new Response(`${JSON.stringify(r.data.output, null, 2)}\n`, {
    headers: {
      'content-type': 'application/json; charset=utf-8',
      'content-disposition': `attachment; filename="execution-${id.slice(0, 8)}-output.json"`,
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
    },
  });
}
