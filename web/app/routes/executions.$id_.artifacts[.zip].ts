import type { LoaderFunctionArgs } from '@remix-run/node';
import { proxyDownload } from '../lib/api-proxy.server';
import { requireUser } from '../lib/auth.server';

/** All of an execution's artifacts as one zip, streamed from the API (which knows its length before the first byte). */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  const id = params.id ?? '';
  if (!/^[0-9a-f-]{36}$/i.test(id)) return new Response('not found\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  return proxyDownload(request, a.apiKey, `/api/v1/executions/${id}/artifacts.zip`);
}
