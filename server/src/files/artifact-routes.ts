import type { FastifyInstance, FastifyReply } from 'fastify';
import yazl from 'yazl';
import type { z } from 'zod';
import { AppError, notFound } from '../errors.js';
import type { ExecutionsRepository } from '../executions/repository.js';
import { visibleExecution } from '../executions/visible.js';
import type { ExecutionArtifacts } from './artifacts.js';
import { parseByteRange } from './byte-range.js';
import type { ExecutionFileRow } from './repository.js';
import { type artifactSchema, storageQuery } from './schemas.js';
import { parse } from '../validation.js';

export interface ArtifactRoutesOptions {
  executions: Pick<ExecutionsRepository, 'get'>;
  artifacts: ExecutionArtifacts;
}

/** Types a browser may show in place (a preview): never HTML or SVG, which could run script on this origin. */
const INLINE = /^(text\/(plain|csv|tab-separated-values|markdown)|application\/(json|x-ndjson)|image\/(png|jpeg|gif|webp))\b/;

/** `attachment; filename="…"; filename*=UTF-8''…` for the last segment of an artifact's name. */
export function contentDisposition(name: string, inline: boolean): string {
  const base = name.split('/').pop() || 'artifact';
  const ascii = base.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const utf8 = encodeURIComponent(base).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${inline ? 'inline' : 'attachment'}; filename="${ascii}"; filename*=UTF-8''${utf8}`;
}

function describe(r: ExecutionFileRow): z.infer<typeof artifactSchema> {
  return { name: r.name, size: r.size, sha256: r.sha256, contentType: r.contentType ?? 'application/octet-stream', createdAt: r.createdAt.toISOString() };
}

/** Nothing an artifact holds is interpreted by a browser on this origin: no sniffing, no script, no plugins. */
function guard(reply: FastifyReply): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('content-security-policy', "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox");
}

/** GET /api/v1/executions/:id/artifacts, one of them by name (ranges, ETag), and all of them as a zip. */
export async function artifactRoutes(app: FastifyInstance, deps: ArtifactRoutesOptions) {
  app.get('/api/v1/executions/:id/artifacts', async (req) => {
    const row = await visibleExecution(deps.executions, req);
    const items = await deps.artifacts.list(row.id);
    return { items: items.map(describe), truncated: row.artifactsTruncated, expiresAt: row.artifactsExpireAt?.toISOString() ?? null };
  });

  app.get('/api/v1/storage', async (req) => {
    const q = parse(storageQuery, req.query ?? {}, 'query');
    const all = q.scope === 'all' && req.actor.role === 'admin';
    return { items: await deps.artifacts.usage(all ? undefined : req.actor.id) };
  });

  app.get('/api/v1/executions/:id/artifacts.zip', async (req, reply) => {
    const row = await visibleExecution(deps.executions, req);
    const items = await deps.artifacts.list(row.id);
    const zip = new yazl.ZipFile();
    for (const a of items) {
      zip.addReadStreamLazy(a.name, { size: a.size, compress: false, mtime: a.createdAt, mode: 0o100644 }, (cb) => {
        deps.artifacts.read(a).then(
          (s) => (s ? cb(null, s) : cb(new AppError('ARTIFACT_GONE', 410, `artifact ${a.name} is no longer stored`), null as never)),
          (err: Error) => cb(err, null as never),
        );
      });
    }
    // Stored, not deflated: the size is known before the first byte, and the files are often compressed already.
    // (@types/yazl leaves out the size yazl passes to this callback; -1 when it cannot know it.)
    const end = zip.end.bind(zip) as unknown as (opts: object, calculated: (n: number) => void) => void;
    const total = await new Promise<number>((resolve) => end({}, resolve));
    zip.outputStream.on('error', (err: Error) => req.log.warn({ err, executionId: row.id }, 'artifacts zip failed'));
    guard(reply);
    reply.header('content-type', 'application/zip');
    reply.header('content-disposition', contentDisposition(`${row.id}-artifacts.zip`, false));
    if (total >= 0) reply.header('content-length', total);
    return reply.send(zip.outputStream);
  });

  app.get('/api/v1/executions/:id/artifacts/:name', async (req, reply) => {
    const row = await visibleExecution(deps.executions, req);
    const { name } = req.params as { name: string };
    const a = (await deps.artifacts.list(row.id)).find((x) => x.name === name);
    if (!a) throw notFound(`artifact ${name} of execution ${row.id}`);
    const etag = `"${a.sha256}"`;
    const q = req.query as { inline?: string };
    const type = a.contentType ?? 'application/octet-stream';
    const inline = (q.inline === '1' || q.inline === 'true') && INLINE.test(type);
    guard(reply);
    reply.header('etag', etag);
    reply.header('accept-ranges', 'bytes');
    reply.header('cache-control', 'private, max-age=0, must-revalidate');
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    const ifRange = req.headers['if-range'];
    const range = ifRange && ifRange !== etag ? null : parseByteRange(req.headers.range, a.size);
    if (range === 'unsatisfiable') {
      reply.header('content-range', `bytes */${a.size}`);
      throw new AppError('RANGE_NOT_SATISFIABLE', 416, `range ${req.headers.range} is outside artifact ${a.name} (${a.size} bytes)`, 'range');
    }
    const body = await deps.artifacts.read(a, range ?? undefined);
    if (!body) throw new AppError('ARTIFACT_GONE', 410, `artifact ${a.name} is no longer stored`);
    reply.header('content-disposition', contentDisposition(a.name, inline));
    // Markdown shown in place is shown as text.
    reply.header('content-type', inline && type.startsWith('text/markdown') ? 'text/plain; charset=utf-8' : type);
    if (range) {
      reply.code(206);
      reply.header('content-range', `bytes ${range.start}-${range.end}/${a.size}`);
      reply.header('content-length', range.end - range.start + 1);
    } else reply.header('content-length', a.size);
    return reply.send(body);
  });
}
