import type { LoaderFunctionArgs } from '@remix-run/node';
import { proxyDownload } from '../lib/api-proxy.server';
import { artifactNameFromPath } from '../lib/artifacts';
import { requireUser } from '../lib/auth.server';

/**
 * One artifact, streamed from the API with the signed-in user's key: a plain link downloads it (Content-Disposition
 * attachment), `?inline=1` serves the types the API shows in place, for the page's previews. Ranges pass through.
 */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  const id = params.id ?? '';
  const url = new URL(request.url);
  const name = artifactNameFromPath(url.pathname);
  if (!/^[0-9a-f-]{36}$/i.test(id) || name === null) return new Response('not found\n', { status: 404, headers: { 'content-type': 'text/plain; charset=utf-8' } });
  const inline = url.searchParams.get('inline') === '1' ? '?inline=1' : '';
  return proxyDownload(request, a.apiKey, `/api/v1/executions/${id}/artifacts/${encodeURIComponent(name)}${inline}`);
}
