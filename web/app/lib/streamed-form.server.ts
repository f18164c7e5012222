import { unstable_parseMultipartFormData as parseMultipartFormData } from '@remix-run/node';

/** One file of a form as it arrives: its bytes are read once, in order, before the next file is offered. */
export interface IncomingFile {
  /** The form field it came in. */
  field: string;
  /** The file name the browser sent (its base name). */
  filename: string;
  data: AsyncIterable<Uint8Array>;
}

/** A text field larger than this is refused: the API takes at most a few MiB of request anyway. */
export const MAX_TEXT_FIELD_BYTES = 8 * 1024 * 1024;

export class FormTooLargeError extends Error {
  readonly code = 'FORM_FIELD_TOO_LARGE';
  constructor(readonly field: string) {
    super(`${field}: larger than ${MAX_TEXT_FIELD_BYTES / 1024 / 1024} MiB`);
  }
}

export class FieldAfterFilesError extends Error {
  readonly code = 'FORM_FIELD_AFTER_FILES';
  constructor(readonly field: string) {
    super(`${field}: a form field after the files (the form must put its file input last)`);
  }
}

async function readText(field: string, data: AsyncIterable<Uint8Array>): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of data) {
    size += c.length;
    if (size > MAX_TEXT_FIELD_BYTES) throw new FormTooLargeError(field);
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function drain(data: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _ of data) {
    /* read and dropped */
  }
}

/**
 * Reads a `multipart/form-data` request as it arrives, without holding its files: the text fields are collected,
 * and when the first file comes (its fields come before its files: the form puts its file input last) `handle`
 * is called with the fields and the files still to come, each streamed from the browser's socket as `handle`
 * reads it. With no file in the form, `handle` gets the fields at the end and `files` is null. Whatever `handle`
 * leaves unread is read and dropped, so the browser always gets to send its whole body and read the answer.
 */
export async function readStreamedForm<T>(request: Request, handle: (fields: FormData, files: AsyncIterable<IncomingFile> | null) => Promise<T>): Promise<T> {
  const fields = new FormData();
  const line = new Handover();
  let result: Promise<T> | null = null;
  try {
    await parseMultipartFormData(request, async (part) => {
      if (part.filename === undefined) {
        // The request went to the API at the first file: a field after it would be lost, so it stops the upload.
        if (result) throw new FieldAfterFilesError(part.name);
        fields.append(part.name, await readText(part.name, part.data));
        return undefined;
      }
      // A file input left empty sends a part with an empty file name and no bytes.
      if (part.filename && !result) {
        result = handle(fields, line.files());
        // `handle` may be done (a form error, a refusal by the API) without reading every file.
        result.then(line.stop, line.stop);
      }
      if (part.filename) await line.offer({ field: part.name, filename: part.filename, data: part.data });
      // Whatever the consumer did not read of it (all of it, once it stopped) is dropped.
      await drain(part.data);
      return undefined;
    });
  } catch (err) {
    // A body cut short or refused: the consumer must not take what it got for whole files (an upload is aborted).
    line.fail(err);
    if (result) await (result as Promise<T>).catch(() => {});
    throw err;
  }
  line.end();
  return result ?? handle(fields, null);
}

/**
 * The files handed from the parser to the consumer one at a time, with nothing buffered: the parser waits in
 * `offer` until the consumer has read the file (it asks for the next one) or has stopped.
 */
class Handover {
  private asking: { resolve: (r: IteratorResult<IncomingFile>) => void; reject: (err: unknown) => void } | null = null;
  private failure: { err: unknown } | null = null;
  private offered: { file: IncomingFile; done: () => void } | null = null;
  private current: (() => void) | null = null;
  private ended = false;
  private stopped = false;

  files(): AsyncIterable<IncomingFile> {
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => {
          // Asking for the next file means the one before is read.
          this.releaseCurrent();
          return new Promise<IteratorResult<IncomingFile>>((resolve, reject) => {
            if (this.failure) return reject(this.failure.err);
            if (this.ended || this.stopped) return resolve({ value: undefined, done: true });
            if (this.offered) {
              const o = this.offered;
              this.offered = null;
              this.current = o.done;
              return resolve({ value: o.file, done: false });
            }
            this.asking = { resolve, reject };
          });
        },
        return: async () => {
          this.stop();
          return { value: undefined, done: true };
        },
      }),
    };
  }

  /** Resolves once the consumer is done with `file`. */
  offer(file: IncomingFile): Promise<void> {
    return new Promise<void>((done) => {
      if (this.stopped) return done();
      if (this.asking) {
        const ask = this.asking;
        this.asking = null;
        this.current = done;
        ask.resolve({ value: file, done: false });
      } else this.offered = { file, done };
    });
  }

  private releaseCurrent() {
    this.current?.();
    this.current = null;
  }

  /** The consumer wants no more files. */
  readonly stop = () => {
    this.stopped = true;
    this.releaseCurrent();
    this.offered?.done();
    this.offered = null;
    this.asking?.resolve({ value: undefined, done: true });
    this.asking = null;
  };

  /** The body has ended: no more files. */
  end() {
    this.ended = true;
    this.asking?.resolve({ value: undefined, done: true });
    this.asking = null;
  }

  /** The body failed: the consumer's next file is this error. */
  fail(err: unknown) {
    this.failure = { err };
    this.releaseCurrent();
    this.offered?.done();
    this.offered = null;
    this.asking?.reject(err);
    this.asking = null;
  }
}
