import type { ApiResult } from './api.server';
import type { IncomingFile } from './streamed-form.server';
import { type UploadFile, postExecutionWithFiles } from './upload.server';

export function isMultipart(request: Request): boolean {
  return /^multipart\/form-data\s*;/i.test(request.headers.get('content-type') ?? '');
}

/** The i-th file goes to the i-th `filePath` the page sent (the path typed for it), else under its own name. */
async function* named(files: AsyncIterable<IncomingFile>, paths: string[], sent: string[]): AsyncGenerator<UploadFile> {
  let i = 0;
  for await (const f of files) {
    const path = paths[i++]?.trim() || f.filename;
    sent.push(path);
    yield { path, data: f.data };
  }
}

/**
 * The Run form's request with its files, streamed to the API as multipart. The API names a refused part by its
 * path (`"field": "data/x.csv"`); that error belongs next to the Files field, with the path kept in the message.
 */
export async function sendRunWithFiles<T>(apiKey: string, body: unknown, form: FormData, files: AsyncIterable<IncomingFile>, signal: AbortSignal): Promise<ApiResult<T>> {
  const paths = form.getAll('filePath').map((p) => (typeof p === 'string' ? p : ''));
  const sent: string[] = [];
  const r = await postExecutionWithFiles<T>(apiKey, body, named(files, paths, sent), signal);
  if (!r.ok && r.error.field && (sent.includes(r.error.field) || paths.includes(r.error.field))) {
    const message = r.error.message.startsWith(`${r.error.field}: `) ? r.error.message : `${r.error.field}: ${r.error.message}`;
    return { ...r, error: { ...r.error, field: 'files', message } };
  }
  return r;
}
