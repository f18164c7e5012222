import { webConfig } from './config.server';

/** How long the API may take to start answering; the body then streams for as long as it takes. */
const HEADERS_TIMEOUT_MS = 20_000;

/** What the browser may ask of a download: one byte range, a revalidation. */
const FORWARD_REQUEST = ['range', 'if-range', 'if-none-match'];
/** What the browser needs of the answer to save or show it. */
const FORWARD_RESPONSE = ['content-type', 'content-length', 'content-disposition', 'content-range', 'accept-ranges', 'etag', 'last-modified'];

/**
 * A GET of the API streamed through to the browser with the signed-in user's key (the browser never holds it):
 * the body is piped as it arrives, never held whole, and a browser that goes away aborts the API request. What an
 * artifact holds is the script's, so the answer may never run anything on the dashboard's origin (which has the
 * session cookie): no sniffing and a sandbox policy on every answer, whatever the API sent.
 */
export async function proxyDownload(request: Request, apiKey: string, apiPath: string): Promise<Response> {
  const { apiUrl } = webConfig();
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
  for (const h of FORWARD_REQUEST) {
    const v = request.headers.get(h);
    if (v) headers[h] = v;
  }
  const started = new AbortController();
  const timer = setTimeout(() => started.abort(new Error('no answer')), HEADERS_TIMEOUT_MS);
  let upstream: Response;
  try {
    upstream = await fetch(apiUrl + apiPath, { headers, signal: AbortSignal.any([request.signal, started.signal]) });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return text(503, `cannot reach the Cronium API (${started.signal.aborted ? `no answer in ${HEADERS_TIMEOUT_MS / 1000} s` : (e.cause?.code ?? e.message)})`);
  } finally {
    clearTimeout(timer);
  }
  if (upstream.status >= 400) {
    const body = await upstream.text().catch(() => '');
    let message = `the API answered ${upstream.status}`;
    try {
      message = (JSON.parse(body) as { error?: { message?: string } }).error?.message ?? message;
    } catch {
      /* not JSON */
    }
    const res = text(upstream.status, message);
    const range = upstream.headers.get('content-range');
    if (range) res.headers.set('content-range', range);
    return res;
  }
  const out = new Headers();
  for (const h of FORWARD_RESPONSE) {
    const v = upstream.headers.get(h);
    if (v) out.set(h, v);
  }
  guard(out);
  out.set('cache-control', 'private, no-cache');
  return new Response(upstream.body ? relay(upstream.body) : null, { status: upstream.status, headers: out });
}

function guard(h: Headers) {
  h.set('x-content-type-options', 'nosniff');
  h.set('content-security-policy', "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox");
}

function text(status: number, message: string): Response {
  const h = new Headers({ 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
  guard(h);
  return new Response(`${message}\n`, { status, headers: h });
}

/** The API's body as it arrives, one chunk at a time; if the API breaks off, so does the download (a cut file is not saved as whole). */
function relay(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (err) {
          controller.error(err);
        }
      },
      cancel() {
        reader.cancel().catch(() => {});
      },
    },
    { highWaterMark: 0 },
  );
}
