import { webConfig } from './config.server';
import type { ApiErrorBody } from './types';

export type ApiResult<T> = { ok: true; status: number; data: T } | { ok: false; status: number; error: ApiErrorBody };

const TIMEOUT_MS = 20_000;

/** Reads an error answer of the API; anything else (a proxy's HTML page, say) becomes a readable message. */
export function errorFromBody(status: number, text: string): ApiErrorBody {
  try {
    const parsed = JSON.parse(text) as { error?: Partial<ApiErrorBody> };
    if (parsed?.error && typeof parsed.error.message === 'string') {
      return {
        code: typeof parsed.error.code === 'string' ? parsed.error.code : `HTTP_${status}`,
        message: parsed.error.message,
        ...(typeof parsed.error.field === 'string' ? { field: parsed.error.field } : {}),
      };
    }
  } catch {
    /* not JSON */
  }
  return { code: `HTTP_${status}`, message: `the API answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}` };
}

/** One call to the Cronium API with an API key. Never throws: a network failure is a 503 result. */
export async function callApi<T>(
  apiKey: string | null,
  method: string,
  path: string,
  body?: unknown,
  opts: { signal?: AbortSignal } = {},
): Promise<ApiResult<T>> {
  const { apiUrl } = webConfig();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const signals = [AbortSignal.timeout(TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])];
  let res: Response;
  try {
    res = await fetch(apiUrl + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.any(signals),
    });
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    const why = e.name === 'TimeoutError' ? `no answer in ${TIMEOUT_MS / 1000} s` : (e.cause?.code ?? e.message);
    return { ok: false, status: 503, error: { code: 'API_UNREACHABLE', message: `cannot reach the Cronium API at ${apiUrl} (${why})` } };
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) return { ok: false, status: res.status, error: errorFromBody(res.status, text) };
  let data: unknown = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      return { ok: false, status: 502, error: { code: 'BAD_RESPONSE', message: `the API answered ${res.status} with something that is not JSON` } };
    }
  }
  return { ok: true, status: res.status, data: data as T };
}

/** Opens the API's live log stream (Server-Sent Events) for the dashboard's proxy route. */
export async function openLogStream(apiKey: string, executionId: string, signal: AbortSignal): Promise<Response> {
  const { apiUrl } = webConfig();
  return fetch(`${apiUrl}/api/v1/executions/${encodeURIComponent(executionId)}/logs`, {
    headers: { accept: 'text/event-stream', authorization: `Bearer ${apiKey}` },
    signal,
  });
}
