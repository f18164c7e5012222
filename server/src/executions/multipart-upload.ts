import type { IncomingMessage } from 'node:http';
import type { Multipart } from '@fastify/multipart';
import type { FastifyRequest } from 'fastify';
import { AppError, badRequest, tooLarge } from '../errors.js';
import { type FileNames, tmpfsFor } from '../files/job-files.js';
import type { StreamedFile } from '../files/job-inputs.js';

/**
 * `POST /api/v1/executions` as `multipart/form-data`, for files too large to inline as base64: the first part is
 * the field `request` (the JSON body the JSON route takes), every later part a file whose field name is its path
 * under /work. The request comes first so that it is validated before a byte of any file is stored; each file
 * then goes from the socket into the file store as it arrives (busboy's backpressure reaches the socket), metered
 * against the per-file, all-files and /work limits while it streams, so a request is refused at the byte that
 * crosses one, never after being held whole.
 */

export const REQUEST_FIELD = 'request';
/** As many as the JSON route takes, JSON files and parts counted together. */
export const MAX_FILES = 1000;
/** After a refusal the rest of the body is read (and dropped) up to this much, so the client reads the answer; past it the connection is closed. */
const DRAIN_CAP_BYTES = 64 * 1024 * 1024;

export interface UploadLimits {
  maxFileBytes: number;
  maxFilesBytes: number;
  /** The /work tmpfs: what it keeps free and what it may grow to (job-files.ts tmpfsFor). */
  tmpfs: { mb: number; maxMb: number };
}

/** @fastify/multipart's options for this route: the parser's own limits are backstops, the meters below decide. */
export function multipartOptions(limits: UploadLimits, maxRequestBytes: number) {
  return {
    throwFileSizeLimit: false,
    limits: {
      // One byte over the limit reaches the meter, which names the file.
      fileSize: limits.maxFileBytes + 1,
      fieldSize: maxRequestBytes,
      files: MAX_FILES + 1,
      parts: MAX_FILES + 2,
      fields: 2,
    },
  };
}

/** The parser's errors (a malformed body, a client gone, a parser limit) as the API's, naming what they concern. */
function apiErrorOf(err: unknown): unknown {
  if (err instanceof AppError) return err;
  const code = (err as { code?: string }).code;
  const message = (err as Error).message;
  switch (code) {
    case 'FST_PARTS_LIMIT':
    case 'FST_FILES_LIMIT':
      return badRequest(`files: at most ${MAX_FILES} files in all (JSON files and parts)`, 'files');
    case 'FST_FIELDS_LIMIT':
      return badRequest(`body: the only field besides the file parts is "${REQUEST_FIELD}"`, 'body');
    case 'FST_PROTO_VIOLATION':
      return badRequest('files: a part is named like a property of Object.prototype (toString, constructor, …), which the multipart parser refuses; send that file in the JSON files', 'files');
    case 'FST_INVALID_JSON_FIELD_ERROR':
      return badRequest(`${REQUEST_FIELD}: not valid JSON`, REQUEST_FIELD);
    case 'FST_MP_PREMATURE_CLOSE':
      return badRequest('body: the request ended before its multipart body did', 'body');
    default:
      // busboy's own errors are plain Errors about the body's syntax: a missing boundary, a part cut short.
      if ((err as { statusCode?: number }).statusCode === undefined && err instanceof Error) return badRequest(`body: not a valid multipart/form-data body (${message})`, 'body');
      return err;
  }
}

export class MultipartUpload {
  private readonly parts: AsyncIterator<Multipart>;
  private current: Multipart | null = null;
  private total = 0;

  private constructor(private readonly req: FastifyRequest) {
    this.parts = req.parts()[Symbol.asyncIterator]();
  }

  /**
   * Reads the `request` field, which must be the first part. On a refusal the body is drained (`abandon`) before
   * the error is thrown, so the caller has nothing to clean up.
   */
  static async open(req: FastifyRequest, parseJson: (req: FastifyRequest, text: string) => Promise<unknown>): Promise<{ upload: MultipartUpload; body: unknown }> {
    const upload = new MultipartUpload(req);
    try {
      const first = await upload.next();
      if (!first || first.type !== 'field' || first.fieldname !== REQUEST_FIELD) {
        throw badRequest(`${REQUEST_FIELD}: the first part must be the field "${REQUEST_FIELD}", holding the request as JSON; the file parts come after it`, REQUEST_FIELD);
      }
      if (first.valueTruncated) throw tooLarge(`${REQUEST_FIELD}: larger than the limit of a request body`, REQUEST_FIELD);
      // The plugin has parsed a part sent as application/json already; any other is text to parse like a JSON body.
      if (first.mimetype === 'application/json') return { upload, body: first.value };
      const body = await parseJson(req, String(first.value)).catch(() => {
        throw badRequest(`${REQUEST_FIELD}: not valid JSON`, REQUEST_FIELD);
      });
      if (body === undefined) throw badRequest(`${REQUEST_FIELD}: must not be empty`, REQUEST_FIELD);
      return { upload, body };
    } catch (err) {
      await upload.abandon();
      throw err;
    }
  }

  private async next(): Promise<Multipart | null> {
    try {
      const r = await this.parts.next();
      this.current = r.done ? null : r.value;
      return this.current;
    } catch (err) {
      this.current = null;
      throw apiErrorOf(err);
    }
  }

  /**
   * The file parts after the request, each to be read to its end before the next is asked for. `names` holds the
   * JSON files' paths already (a part may not name one of them again), `startBytes` their size.
   */
  async *files(names: FileNames, startBytes: number, limits: UploadLimits): AsyncGenerator<StreamedFile> {
    this.total = startBytes;
    for (;;) {
      const part = await this.next();
      if (!part) return;
      const name = part.fieldname;
      if (part.type === 'field') {
        if (name === REQUEST_FIELD) throw badRequest(`${REQUEST_FIELD}: given twice`, REQUEST_FIELD);
        throw badRequest(`${name}: unknown field; a file part needs a filename (curl -F '${name}=@file'), everything else goes in "${REQUEST_FIELD}"`, name || 'body');
      }
      const problem = names.add(name);
      if (problem) throw badRequest(`${name}: ${problem}`, name || 'files');
      if (names.count > MAX_FILES) throw badRequest(`${name}: at most ${MAX_FILES} files in all (JSON files and parts)`, name);
      yield { path: name, mode: 0o644, body: this.meter(part.file, name, limits) };
    }
  }

  private async *meter(file: AsyncIterable<Buffer>, name: string, limits: UploadLimits): AsyncGenerator<Buffer> {
    let size = 0;
    try {
      for await (const chunk of file) {
        size += chunk.length;
        this.total += chunk.length;
        if (size > limits.maxFileBytes) throw tooLarge(`${name}: larger than the limit of ${limits.maxFileBytes} bytes per file`, name);
        if (this.total > limits.maxFilesBytes) throw tooLarge(`${name}: the files together are larger than the limit of ${limits.maxFilesBytes} bytes`, name);
        if (tmpfsFor(this.total, limits.tmpfs.mb, limits.tmpfs.maxMb) === null) {
          throw tooLarge(
            `${name}: the files (${this.total} bytes so far) do not fit the sandbox's /work (at most ${limits.tmpfs.maxMb} MiB with the ${limits.tmpfs.mb} MiB it keeps free)`,
            name,
          );
        }
        yield chunk;
      }
    } catch (err) {
      throw apiErrorOf(err);
    }
  }

  /**
   * Stops parsing and reads what is left of the body, dropping it, so that a client still sending reads the
   * refusal instead of a reset. False when more than the cap was left (the caller closes the connection).
   */
  async abandon(): Promise<boolean> {
    if (this.current?.type === 'file') this.current.file.destroy();
    this.current = null;
    const raw: IncomingMessage = this.req.raw;
    raw.unpipe();
    return drain(raw, DRAIN_CAP_BYTES);
  }
}

function drain(raw: IncomingMessage, capBytes: number): Promise<boolean> {
  if (raw.readableEnded) return Promise.resolve(true);
  if (raw.destroyed) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    let n = 0;
    const finish = (ended: boolean) => {
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('close', onClose);
      raw.off('error', onClose);
      resolve(ended);
    };
    const onData = (chunk: Buffer) => {
      n += chunk.length;
      if (n > capBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(raw.readableEnded);
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('close', onClose);
    raw.once('error', onClose);
    raw.resume();
  });
}
