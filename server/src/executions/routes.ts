import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { requireAdmin } from '../auth/plugin.js';
import type { Language } from '../api/enums.js';
import type { ExecutionStatus } from '../db/schema.js';
import { AppError, badRequest, tooLarge } from '../errors.js';
import { parseAllowEntry } from '../egress/allow-entry.js';
import type { EgressRepository } from '../egress/repository.js';
import type { CustomImagesRepository } from '../images/repository.js';
import type { RuntimeCatalog } from '../runtimes/catalog.js';
import type { SecretsRepository } from '../secrets/repository.js';
import type { SettingsService } from '../settings/service.js';
import { parse } from '../validation.js';
import { refusal } from './admission.js';
import type { ExecutionEngine } from './engine.js';
import { type ExecutionEvents, FINAL_STATUSES, type LogEntry } from './events.js';
import type { ExecutionRow, ExecutionsRepository } from './repository.js';
import { queueStanding } from './queue-standing.js';
import { dependencyIssues } from '../dependencies/specifiers.js';
import { dependencyRequestOf } from './dependency-request.js';
import type { JobInputs } from '../files/job-inputs.js';
import { checkFiles, tmpfsFor } from '../files/job-files.js';
import fastifyMultipart from '@fastify/multipart';
import { MAX_FILES, MultipartUpload, multipartOptions, type UploadLimits } from './multipart-upload.js';
import { commandFor } from './languages.js';
import { visibleExecution } from './visible.js';
import { createExecutionSchema, listExecutionsQuery, statsQuery } from './request.js';
import { decodeCursor, encodeCursor, serializeExecution, serializeLogEntry } from './serialize.js';

const GVISOR_MIN_PIDS = 128;

export interface ExecutionRoutesOptions {
  executions: ExecutionsRepository;
  engine: ExecutionEngine;
  events: ExecutionEvents;
  settings: SettingsService;
  /** Only whether the granted secrets exist. */
  secrets: SecretsRepository;
  /** Only an execution's egress log. */
  egress: EgressRepository;
  sizes: { maxScriptBytes: number; maxInputBytes: number; maxFileBytes: number; maxFilesBytes: number };
  gvisorAvailable: boolean;
  /** Which runtime (and so which image) a request runs in. */
  runtimes: Pick<RuntimeCatalog, 'choose'>;
  /** Custom images, which a request names in `image`. */
  images: Pick<CustomImagesRepository, 'get' | 'list'>;

  /** Where a request's files and stdin are kept until it runs. */
  inputs: JobInputs;
  /** The /work tmpfs and what it may grow to for a job's files. */
  tmpfs: { mb: number; maxMb: number };
}

export async function executionRoutes(app: FastifyInstance, deps: ExecutionRoutesOptions) {
  const load = (req: FastifyRequest): Promise<ExecutionRow> => visibleExecution(deps.executions, req);

  // Files may come inline (base64 grows them by a third), or as multipart parts, each with its part's headers;
  // the rest of the API keeps the server's own body limit.
  const bodyLimit =
    deps.sizes.maxScriptBytes + deps.sizes.maxInputBytes + Math.ceil((deps.sizes.maxFilesBytes * 4) / 3) + 256 * 1024 + MAX_FILES * 8 * 1024;
  const uploadLimits: UploadLimits = { maxFileBytes: deps.sizes.maxFileBytes, maxFilesBytes: deps.sizes.maxFilesBytes, tmpfs: deps.tmpfs };
  // Registered here, so multipart bodies are parsed for these routes only (the rest of the API answers 415).
  await app.register(fastifyMultipart, multipartOptions(uploadLimits, bodyLimit));
  const json = app.getDefaultJsonParser('error', 'error');
  // The `request` field is parsed as a JSON body is (prototype poisoning refused the same way).
  const parseJson = (req: FastifyRequest, text: string) =>
    new Promise<unknown>((resolve, reject) => json(req, text, (err, value) => (err ? reject(err) : resolve(value))));

  app.post('/api/v1/executions', { bodyLimit }, async (req, reply) => {
    if (!req.isMultipart()) {
      const p = await prepareSubmission(deps, req, req.body);
      const store = p.files.files.length > 0 || p.stdin !== null ? (id: string) => deps.inputs.save(id, p.files.files, p.stdin) : null;
      return submit(deps, req, reply, p, store);
    }
    const { upload, body } = await MultipartUpload.open(req, parseJson);
    try {
      const p = await prepareSubmission(deps, req, body);
      // The parts are read into the store here, before the row exists: no server can claim it without its files.
      return await submit(deps, req, reply, p, (id) => deps.inputs.save(id, p.files.files, p.stdin, upload.files(p.files.names, p.files.totalBytes, uploadLimits)));
    } catch (err) {
      if (!(await upload.abandon())) reply.header('connection', 'close');
      throw err;
    }
  });

  app.get('/api/v1/executions', async (req) => {
    const q = parse(listExecutionsQuery, req.query, 'query');
    if (q.userId && q.userId !== req.actor.id) requireAdmin(req);
    const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
    if (q.cursor && !cursor) throw badRequest('cursor: not a cursor returned by this API', 'cursor');
    const userId = req.actor.role === 'admin' ? q.userId : req.actor.id;
    const rows = await deps.executions.list({
      userId,
      status: q.status as ExecutionStatus[] | undefined,
      language: q.language,
      limit: q.limit + 1,
      cursor: cursor ?? undefined,
    });
    const page = rows.slice(0, q.limit);
    return {
      items: page.map((r) => serializeExecution(r)),
      nextCursor: rows.length > q.limit && page.length ? encodeCursor(page[page.length - 1]!) : null,
    };
  });

  /** The overview's numbers, computed by the database: a non-admin sees only their own executions. */
  app.get('/api/v1/stats', async (req) => {
    const q = parse(statsQuery, req.query ?? {}, 'query');
    const all = req.actor.role === 'admin' && q.scope === 'all';
    const raw = await deps.executions.stats(q.hours, all ? undefined : req.actor.id);
    const totals: Record<string, number> = {};
    const perHour = new Map<string, Record<string, number>>();
    for (let i = q.hours - 1; i >= 0; i--) {
      const h = new Date(Date.now() - i * 3600_000);
      h.setUTCMinutes(0, 0, 0);
      perHour.set(h.toISOString(), {});
    }
    for (const b of raw.buckets) {
      totals[b.status] = (totals[b.status] ?? 0) + b.n;
      const slot = perHour.get(b.hour) ?? {};
      slot[b.status] = (slot[b.status] ?? 0) + b.n;
      perHour.set(b.hour, slot);
    }
    const finished = [...FINAL_STATUSES].reduce((n, st) => n + (totals[st] ?? 0), 0);
    return {
      scope: all ? 'all' : 'mine',
      hours: q.hours,
      running: raw.now.running ?? 0,
      queued: raw.now.queued ?? 0,
      total: Object.values(totals).reduce((a, b) => a + b, 0),
      byStatus: totals,
      successRate: finished ? (totals.succeeded ?? 0) / finished : null,
      timedOut: totals.timed_out ?? 0,
      oomKilled: totals.oom_killed ?? 0,
      p50DurationMs: raw.p50 === null ? null : Math.round(Number(raw.p50)),
      p95DurationMs: raw.p95 === null ? null : Math.round(Number(raw.p95)),
      perHour: [...perHour.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([hour, counts]) => ({ hour, total: Object.values(counts).reduce((a, b) => a + b, 0), ...counts })),
    };
  });

  app.get('/api/v1/executions/:id', async (req) => {
    const row = await load(req);
    const out = serializeExecution(row, { detail: true });
    if (row.status !== 'queued') return out;
    const settings = await deps.settings.get();
    return { ...out, queue: queueStanding(await deps.executions.queueCounts(row), settings.maxConcurrencyPerUser) };
  });

  app.post('/api/v1/executions/:id/cancel', async (req, reply) => {
    const row = await load(req);
    if (FINAL_STATUSES.has(row.status) || !(await deps.engine.cancel(row.id))) {
      const now = await deps.executions.get(row.id);
      throw new AppError('EXECUTION_NOT_CANCELLABLE', 409, `execution ${row.id} has already ended (${now?.status ?? row.status})`);
    }
    return reply.code(202).send({ id: row.id, status: 'cancelling' });
  });

  app.get('/api/v1/executions/:id/runtime-calls', async (req) => {
    const row = await load(req);
    return { items: await deps.executions.runtimeCalls(row.id) };
  });

  app.get('/api/v1/executions/:id/egress', async (req) => {
    const row = await load(req);
    return { items: await deps.egress.log({ executionId: row.id, limit: 1000 }) };
  });

  app.get('/api/v1/executions/:id/logs', async (req, reply) => {
    const row = await load(req);
    const accept = req.headers.accept ?? '';
    if (!accept.includes('text/event-stream')) {
      const entries = await deps.executions.logs(row.id);
      return { entries: entries.map(serializeLogEntry), truncated: row.logsTruncated };
    }
    return followLogs(deps, row, req, reply);
  });
}

/**
 * Live logs as Server-Sent Events: everything stored so far, then new entries as they come (from this server's
 * runner at once, from another server's through the database), and an `end` event with the final status.
 */
async function followLogs(deps: Pick<ExecutionRoutesOptions, 'executions' | 'events'>, row: ExecutionRow, req: FastifyRequest, reply: FastifyReply) {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  let lastSeq = -1;
  let closed = false;
  const send = (event: string, data: unknown) => {
    if (!closed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const sendEntries = (entries: LogEntry[]) => {
    for (const e of entries) {
      if (e.seq <= lastSeq) continue;
      lastSeq = e.seq;
      send('log', serializeLogEntry(e));
    }
  };
  let pending: LogEntry[] = [];
  let replaying = true;
  const offLogs = deps.events.onLogs(row.id, (entries) => {
    if (replaying) pending.push(...entries);
    else sendEntries(entries);
  });
  const finish = async (status: ExecutionStatus) => {
    if (closed) return;
    // The runner stores its last lines before it reports the end, so one more read catches them all.
    sendEntries(await deps.executions.logs(row.id, lastSeq).catch(() => []));
    const final = await deps.executions.get(row.id);
    send('end', { status: final?.status ?? status, exitCode: final?.exitCode ?? null, truncated: final?.logsTruncated ?? false });
    cleanup();
    res.end();
  };
  const offStatus = deps.events.onStatus(row.id, (status) => {
    if (FINAL_STATUSES.has(status)) void finish(status);
  });
  const keepAlive = setInterval(() => !closed && res.write(': keep-alive\n\n'), 15_000);
  const poll = setInterval(async () => {
    if (replaying) return;
    try {
      sendEntries(await deps.executions.logs(row.id, lastSeq));
      const now = await deps.executions.get(row.id);
      if (now && FINAL_STATUSES.has(now.status)) await finish(now.status);
    } catch {
      /* next poll */
    }
  }, 1000);
  const cleanup = () => {
    if (closed) return;
    closed = true;
    offLogs();
    offStatus();
    clearInterval(keepAlive);
    clearInterval(poll);
  };
  req.raw.once('close', cleanup);

  send('status', { status: row.status });
  sendEntries(await deps.executions.logs(row.id));
  replaying = false;
  sendEntries(pending);
  pending = [];
  const now = await deps.executions.get(row.id);
  if (now && FINAL_STATUSES.has(now.status)) await finish(now.status);
}

type Prepared = Awaited<ReturnType<typeof prepareSubmission>>;

/**
 * Everything about a submission that can be checked before anything is stored, whichever way it came (a JSON
 * body, or a multipart form's `request` field): the same schema and the same checks.
 */
async function prepareSubmission(deps: ExecutionRoutesOptions, req: FastifyRequest, raw: unknown) {
  const settings = await deps.settings.get();
  if (settings.executionPolicy === 'disabled') throw new AppError('EXECUTION_DISABLED', 403, 'executions are disabled by the administrator');
  if (settings.executionPolicy === 'admin_only' && req.actor.role !== 'admin') {
    throw new AppError('EXECUTION_DISABLED', 403, 'only administrators may run executions on this server');
  }
  const body = parse(createExecutionSchema, raw);
  const { sizes } = deps;
  if (Buffer.byteLength(body.script) > sizes.maxScriptBytes) {
    throw tooLarge(`script is larger than the limit of ${sizes.maxScriptBytes} bytes`, 'script');
  }
  if (body.input !== undefined && Buffer.byteLength(JSON.stringify(body.input)) > sizes.maxInputBytes) {
    throw tooLarge(`input is larger than the limit of ${sizes.maxInputBytes} bytes`, 'input');
  }

  const chosen = await chooseRunIn(deps, body.language, body.runtime, body.image);

  const files = checkFiles(body.files ?? [], commandFor(body.language, body.script).filename, { maxFileBytes: sizes.maxFileBytes, maxFilesBytes: sizes.maxFilesBytes });
  if (!files.ok) throw files.status === 413 ? tooLarge(files.message, files.field) : badRequest(files.message, files.field);
  if (body.stdin !== undefined && body.stdinBase64 !== undefined) throw badRequest('stdinBase64: give stdin or stdinBase64, not both', 'stdinBase64');
  let stdin: Buffer | null = body.stdin !== undefined ? Buffer.from(body.stdin, 'utf8') : null;
  if (body.stdinBase64 !== undefined) {
    const s = body.stdinBase64.replace(/\s+/g, '');
    if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw badRequest('stdinBase64: not valid base64', 'stdinBase64');
    stdin = Buffer.from(s, 'base64');
  }
  if (stdin && stdin.length > sizes.maxFileBytes) throw tooLarge(`stdin is larger than the limit of ${sizes.maxFileBytes} bytes`, body.stdin !== undefined ? 'stdin' : 'stdinBase64');
  if (files.totalBytes && tmpfsFor(files.totalBytes, deps.tmpfs.mb, deps.tmpfs.maxMb) === null) {
    throw tooLarge(`files: ${files.totalBytes} bytes do not fit the sandbox's /work (at most ${deps.tmpfs.maxMb} MiB with the ${deps.tmpfs.mb} MiB it keeps free)`, 'files');
  }

  const isolation = body.isolation ?? settings.defaultIsolation;
  if (body.isolation && body.isolation !== settings.defaultIsolation && !settings.allowIsolationChoice && req.actor.role !== 'admin') {
    throw new AppError('ISOLATION_NOT_ALLOWED', 403, `the administrator fixed the isolation tier to "${settings.defaultIsolation}"`, 'isolation');
  }
  if (isolation === 'gvisor' && !deps.gvisorAvailable) {
    throw new AppError('ISOLATION_NOT_AVAILABLE', 400, 'isolation "gvisor" is not available: the runsc runtime is not installed in this Docker engine', 'isolation');
  }
  if (body.egress?.allow.length && !settings.allowExecutionEgressRules) {
    throw new AppError('FORBIDDEN', 403, 'the administrator does not allow per-execution egress rules', 'egress.allow');
  }

  const egressAllow: string[] = [];
  for (const [i, host] of (body.egress?.allow ?? []).entries()) {
    const v = parseAllowEntry(host);
    if (!v.ok) throw badRequest(`egress.allow.${i}: ${v.message}`, `egress.allow.${i}`);
    egressAllow.push(v.canonical);
  }

  const packages = dependencyRequestOf(body.language, body);
  if (!packages.ok) throw badRequest(`${packages.field}: ${packages.message}`, packages.field);
  if (packages.request) {
    const issue = dependencyIssues(body.language, packages.request)[0];
    if (issue) {
      const field = issue.path.join('.');
      throw badRequest(`${field}: ${issue.message}`, field);
    }
    if (body.image !== undefined) throw badRequest('dependencies: packages are installed for built-in runtimes only, not into a custom image (build them into the image)', 'dependencies');
  }

  const secrets = [...new Set(body.secrets ?? [])];
  if (secrets.length) {
    const have = await deps.secrets.existing(req.actor.id, secrets);
    const missing = secrets.filter((s) => !have.has(s));
    if (missing.length) throw new AppError('SECRET_NOT_FOUND', 400, `unknown secret${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, 'secrets');
  }

  // Requested limits are capped by the server's maxima; the applied values are reported on the execution.
  const d = settings.defaultLimits;
  const m = settings.maxLimits;
  const timeoutMs = Math.min(body.timeoutMs ?? d.timeoutMs, m.timeoutMs);
  const memoryMb = Math.min(body.resources?.memoryMb ?? d.memoryMb, m.memoryMb);
  const cpus = Math.min(body.resources?.cpus ?? d.cpus, m.cpus);
  // gVisor's own threads count against the pids limit: below 128 its sandbox cannot start.
  const pids = Math.max(isolation === 'gvisor' ? GVISOR_MIN_PIDS : 0, Math.min(body.resources?.pids ?? d.pids, m.pids));

  return {
    settings,
    wait: body.wait === true,
    files,
    stdin: stdin && stdin.length ? stdin : null,
    row: {
      userId: req.actor.id,
      language: body.language,
      runtime: chosen.runtime,
      image: chosen.image,
      status: 'queued' as const,
      script: body.script,
      input: body.input === undefined ? null : body.input,
      env: body.env ?? {},
      timeoutMs,
      memoryMb,
      cpus: String(cpus),
      pids,
      isolation,
      secrets,
      egressAllow: [...new Set(egressAllow)],
      event: body.event ?? null,
      dependencyRequest: packages.request,
    },
  };
}

/**
 * Stores the submission's files (`store`, when it has any), then queues its row: the engine may claim the row at
 * once and must find every file there. Whatever was stored is discarded when either step fails.
 */
async function submit(deps: ExecutionRoutesOptions, req: FastifyRequest, reply: FastifyReply, p: Prepared, store: ((id: string) => Promise<void>) | null) {
  const id = crypto.randomUUID();
  const discard = () => (store ? deps.inputs.discard(id).catch(() => undefined) : undefined);
  let queued;
  try {
    if (store) await store(id);
    queued = await deps.executions.insertQueued({ id, ...p.row, createdAt: new Date() }, p.settings);
  } catch (err) {
    await discard();
    throw err;
  }
  if (!queued.ok) {
    await discard();
    throw refusal(queued);
  }
  const row = queued.row;
  deps.engine.wake();

  if (!p.wait) return reply.code(202).send({ id: row.id, status: row.status });
  // The response's close, not the request's: a multipart request has been read to its end (and closed) by now.
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  await deps.engine.waitForEnd(row.id, deps.events, abort.signal);
  const final = await deps.executions.get(row.id);
  return reply.code(200).send(serializeExecution(final!, { detail: true }));
}

/**
 * What an execution runs in: a registered custom image (`image`, by name; run as the image id its registration
 * check ran, so a re-tagged image is not run unchecked), or a built-in runtime (`runtime`, or the language's default).
 */
async function chooseRunIn(
  deps: Pick<ExecutionRoutesOptions, 'runtimes' | 'images'>,
  language: Language,
  runtime: string | undefined,
  image: string | undefined,
): Promise<{ runtime: string; image: string }> {
  if (image === undefined) {
    const chosen = deps.runtimes.choose(language, runtime);
    if (!chosen.ok) throw badRequest(chosen.message, chosen.field);
    return { runtime: chosen.runtime.id, image: chosen.runtime.image };
  }
  if (runtime !== undefined) throw badRequest('image: name either a runtime or a custom image, not both', 'image');
  const row = await deps.images.get(image);
  if (!row) {
    const names = (await deps.images.list()).map((r) => r.name);
    throw badRequest(`image: unknown image "${image}"; registered images: ${names.length ? names.join(', ') : 'none'} (an admin registers them: POST /api/v1/images)`, 'image');
  }
  if (row.language !== language) throw badRequest(`image: ${image} is a ${row.language} image, but language is "${language}"`, 'image');
  return { runtime: `image:${row.name}`, image: row.check.imageId };
}
