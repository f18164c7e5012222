import crypto from 'node:crypto';
import { type ApiResult, errorFromBody } from './api.server';
import { webConfig } from './config.server';

/** A file for the sandbox's /work: its path there and its bytes as they arrive. */
export interface UploadFile {
  path: string;
  data: AsyncIterable<Uint8Array>;
}

/** A part's name as browsers write it (HTML's multipart/form-data encoding): `"`, CR and LF percent-encoded. */
export function partName(name: string): string {
  return name.replace(/"/g, '%22').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/**
 * `POST /api/v1/executions` as `multipart/form-data`: the request as JSON first, then each file as a part named
 * by its path. The body is written as the files arrive (from the browser's upload, through readStreamedForm), so
 * the dashboard holds one chunk at a time whatever the size. The API checks the request before it stores a byte
 * and may refuse a file while it streams: then its answer is returned at once and the rest is not sent.
 */
export async function postExecutionWithFiles<T>(apiKey: string, request: unknown, files: AsyncIterable<UploadFile>, signal: AbortSignal): Promise<ApiResult<T>> {
  const { apiUrl } = webConfig();
  const boundary = `----cronium-web-${crypto.randomBytes(12).toString('hex')}`;
  let answered = false;
  const parts = multipartBody(boundary, request, files, () => answered);
  // Pulled as the socket to the API takes it: back pressure reaches the browser's upload through readStreamedForm.
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const r = await parts.next();
        if (r.done) controller.close();
        else controller.enqueue(r.value);
      },
      async cancel() {
        await parts.return(undefined);
      },
    },
    { highWaterMark: 0 },
  );

  let res: Response;
  try {
    res = await fetch(`${apiUrl}/api/v1/executions`, {
      method: 'POST',
      headers: { accept: 'application/json', authorization: `Bearer ${apiKey}`, 'content-type': `multipart/form-data; boundary=${boundary}` },
      body,
      // Node's fetch sends a stream only half duplex; the answer may still come before the body is done.
      duplex: 'half',
      signal,
    } as RequestInit);
  } catch (err) {
    // Also when the browser's upload broke off half way: readStreamedForm then throws that error instead.
    const e = err as Error & { cause?: { code?: string } };
    return { ok: false, status: 503, error: { code: 'API_UNREACHABLE', message: `cannot reach the Cronium API at ${apiUrl} (${e.cause?.code ?? e.message})` } };
  }
  answered = true;
  const text = await res.text().catch(() => '');
  if (!res.ok) return { ok: false, status: res.status, error: errorFromBody(res.status, text) };
  try {
    return { ok: true, status: res.status, data: JSON.parse(text) as T };
  } catch {
    return { ok: false, status: 502, error: { code: 'BAD_RESPONSE', message: `the API answered ${res.status} with something that is not JSON` } };
  }
}

async function* multipartBody(boundary: string, request: unknown, files: AsyncIterable<UploadFile>, answered: () => boolean): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder();
  yield enc.encode(`--${boundary}\r\ncontent-disposition: form-data; name="request"\r\ncontent-type: application/json\r\n\r\n${JSON.stringify(request)}\r\n`);
  for await (const f of files) {
    const base = f.path.split('/').pop() || 'file';
    yield enc.encode(`--${boundary}\r\ncontent-disposition: form-data; name="${partName(f.path)}"; filename="${partName(base)}"\r\ncontent-type: application/octet-stream\r\n\r\n`);
    for await (const chunk of f.data) {
      // The API has answered (a refusal): the rest is not worth sending.
      if (answered()) return;
      yield chunk;
    }
    yield enc.encode('\r\n');
  }
  yield enc.encode(`--${boundary}--\r\n`);
}
