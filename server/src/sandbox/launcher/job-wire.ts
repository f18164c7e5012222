/**
 * The launcher's input encoding (runtime-images/README.md, "The launcher protocol"): NUL-terminated header
 * fields, then the job's files, the script and its stdin, each length-prefixed. The launcher parses it with bash
 * builtins (and `head -c` for file bytes), so nothing starts between a job's arrival and its interpreter but what
 * its files need; the lengths let it begin without waiting for stdin to close.
 */
import type { JobInput } from '../driver.js';

export interface WireJob {
  tokens: MarkTokens;
  filename: string;
  argv: string[];
  env: Record<string, string>;
  script: string;
  /** Directories to make under /work before the files (parents first). */
  dirs?: string[];
  files?: JobInput[];
  stdin?: JobInput | null;
}

/**
 * One-time tokens of the launcher's marks, each known only to the server and the launcher. They are separate
 * because they are exposed at different times: the job mark passes through the sandbox's stdout just before the
 * script starts (the script can read its own stdout back), the end mark, the artifacts mark and the usage report
 * only once nothing of the script is left alive to read them. A stolen job mark reveals nothing about the others.
 */
export interface MarkTokens {
  job: string;
  end: string;
  usage: string;
  artifacts: string;
}

/**
 * CRONIUM3: four tokens, then after the environment the job's directories and files and, after the script, its
 * stdin. (CRONIUM2, three tokens and no files, and CRONIUM1, one nonce, are still read by the launcher.)
 */
export const WIRE_MAGIC = 'CRONIUM3';

const fieldsOf = (f: string[]) => {
  // A NUL would end a field early (and bash cannot hold one in a variable); requests are validated long before.
  for (const x of f) if (x.includes('\0')) throw new Error('a job field contains a NUL byte');
  return Buffer.from(f.map((x) => x + '\0').join(''), 'utf8');
};

/** The job's directories from its files' paths, parents first. */
export function dirsOf(files: readonly { path: string }[]): string[] {
  const dirs = new Set<string>();
  for (const f of files) {
    const segs = f.path.split('/');
    for (let k = 1; k < segs.length; k++) dirs.add(segs.slice(0, k).join('/'));
  }
  return [...dirs].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
}

/** Yields exactly `input.size` bytes of it, or throws (a short file would shift every field after it). */
async function* exactly(input: JobInput): AsyncGenerator<Buffer> {
  let left = input.size;
  for await (const c of await input.open()) {
    const b = Buffer.isBuffer(c) ? c : Buffer.from(c);
    if (b.length > left) throw new Error(`the job's file ${input.path || 'stdin'} has more bytes than its size ${input.size}`);
    left -= b.length;
    if (b.length) yield b;
  }
  if (left) throw new Error(`the job's file ${input.path || 'stdin'} has ${input.size - left} of its ${input.size} bytes`);
}

/** The whole job as one buffer when it carries no files and no stdin (what tests and small jobs use). */
export function encodeJob(job: WireJob): Buffer {
  if (job.files?.length || job.stdin?.size) throw new Error('a job with files or stdin is streamed (encodeJobStream)');
  return Buffer.concat([head(job), tail(job)]);
}

function head(job: WireJob): Buffer {
  for (const t of [job.tokens.job, job.tokens.end, job.tokens.usage, job.tokens.artifacts]) {
    if (!/^[A-Za-z0-9]{1,128}$/.test(t)) throw new Error('a mark token must be 1-128 characters [A-Za-z0-9]');
  }
  if (Buffer.from(job.script, 'utf8').includes(0)) throw new Error('the script contains a NUL byte');
  const files = job.files ?? [];
  const dirs = job.dirs ?? dirsOf(files);
  return fieldsOf([
    WIRE_MAGIC,
    job.tokens.job,
    job.tokens.end,
    job.tokens.usage,
    job.tokens.artifacts,
    job.filename,
    String(job.argv.length),
    ...job.argv,
    String(Object.keys(job.env).length),
    ...Object.entries(job.env).map(([k, v]) => `${k}=${v}`),
    String(dirs.length),
    ...dirs,
    String(files.length),
  ]);
}

function tail(job: WireJob): Buffer {
  const script = Buffer.from(job.script, 'utf8');
  return Buffer.concat([fieldsOf([String(script.length)]), script, fieldsOf([String(job.stdin?.size ?? 0)])]);
}

/** The job as a stream: header, each file's fields and bytes (read from its store as they are sent), script, stdin. */
export async function* encodeJobStream(job: WireJob): AsyncGenerator<Buffer> {
  yield head(job);
  for (const f of job.files ?? []) {
    if (f.mode !== 0o644 && f.mode !== 0o755) throw new Error(`the job's file ${f.path} has mode ${f.mode.toString(8)}: only 644 and 755 are sent`);
    yield fieldsOf([f.path, f.mode.toString(8), String(f.size)]);
    yield* exactly(f);
  }
  yield tail(job);
  if (job.stdin?.size) yield* exactly(job.stdin);
}
