import type { LoaderFunctionArgs } from '@remix-run/node';
import { openLogStream } from '../lib/api.server';
import { requireUser } from '../lib/auth.server';

/**
 * The live log of an execution as Server-Sent Events, proxied from the API so that the browser never holds the
 * API key. The upstream body is piped through as it arrives; a browser that goes away aborts the upstream request.
 */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const a = await requireUser(request);
  const id = params.id ?? '';
  if (!/^[0-9a-f-]{36}$/i.test(id)) return new Response('not found', { status: 404 });
  let upstream: Response;
  try {
    upstream = await openLogStream(a.apiKey, id, request.signal);
  } catch {
    return new Response('the API is not reachable', { status: 503 });
  }
  if (!upstream.ok || !upstream.body) {
    const text = await upstream.text().catch(() => '');
    return new Response(text || `the API answered ${upstream.status}`, { status: upstream.status === 401 ? 401 : upstream.status, headers: { 'content-type': 'application/json' } });
  }
  const reader = upstream.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch {
        // The browser left or the API closed the connection: end quietly.
        controller.close();
      }
    },
    cancel() {
      reader.cancel().catch(() => {});
    },
  });
  return new Response(body, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    },
  });
}
