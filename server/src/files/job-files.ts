/**
 * The files a request puts into the sandbox's /work, checked before anything is stored: pure policy, no I/O.
 * The launcher checks the paths again (cronium-launch, CRONIUM3), but the server is where a bad one gets its 400.
 */
export type FileMode = 0o644 | 0o755;

export interface RequestedFile {
  path: string;
  content: string;
  encoding?: 'utf8' | 'base64';
  mode?: '0644' | '0755';
}

export interface CheckedFile {
  path: string;
  mode: FileMode;
  bytes: Buffer;
}

export interface FileLimits {
  maxFileBytes: number;
  maxFilesBytes: number;
}

export type FileProblem = { ok: false; status: 400 | 413; field: string; message: string };
export type FilesChecked = { ok: true; files: CheckedFile[]; dirs: string[]; totalBytes: number; names: FileNames } | FileProblem;

const MAX_PATH_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Why `p` cannot name a file under /work, or null. `reserved` are names the sandbox itself writes there. */
export function pathProblem(p: string, reserved: readonly string[] = []): string | null {
  if (p.length === 0) return 'must not be empty';
  if (p.includes('\0')) return 'must not contain a NUL byte';
  if (p.includes('\\')) return 'must not contain a backslash';
  if (p.startsWith('/')) return 'must be relative to /work, not absolute';
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) return `must be at most ${MAX_PATH_BYTES} bytes`;
  const segs = p.split('/');
  if (segs.some((s) => s === '..')) return "must not contain '..'";
  if (segs.some((s) => s === '.')) return "must not contain '.' segments";
  if (segs.some((s) => s === '')) return 'must not contain empty segments (a trailing or doubled /)';
  if (segs.some((s) => Buffer.byteLength(s) > MAX_SEGMENT_BYTES)) return `each segment must be at most ${MAX_SEGMENT_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(p)) return 'must not contain control characters';
  if (segs[0]!.startsWith('.cronium+')) return "must not start with '.cronium+' (the launcher's own files)";
  if (segs.length === 1 && reserved.includes(p)) return `must not be ${p}: the script is written there`;
  return null;
}

function decode(f: RequestedFile): Buffer | null {
  if ((f.encoding ?? 'utf8') === 'utf8') return Buffer.from(f.content, 'utf8');
  const s = f.content.replace(/\s+/g, '');
  if (s.length % 4 !== 0 || !BASE64.test(s)) return null;
  return Buffer.from(s, 'base64');
}

/**
 * The names a request's files take under /work, whichever way they come (JSON `files`, multipart parts): each path
 * (pathProblem), no file named twice nor used as another's directory.
 */
export class FileNames {
  private readonly names = new Set<string>();
  private readonly dirSet = new Set<string>();

  constructor(private readonly scriptFilename: string) {}

  /** Takes `p` for a file, or says why it cannot be one (the message starts with the path, quoted). */
  add(p: string): string | null {
    const problem = pathProblem(p, [this.scriptFilename]);
    if (problem) return `${JSON.stringify(p)} ${problem}`;
    if (this.names.has(p)) return `${JSON.stringify(p)} names the same file twice`;
    if (this.dirSet.has(p)) return `${JSON.stringify(p)} is also the directory of another file`;
    const segs = p.split('/');
    for (let k = 1; k < segs.length; k++) {
      const d = segs.slice(0, k).join('/');
      if (this.names.has(d)) return `${JSON.stringify(p)} would be under the file ${JSON.stringify(d)}`;
    }
    for (let k = 1; k < segs.length; k++) this.dirSet.add(segs.slice(0, k).join('/'));
    this.names.add(p);
    return null;
  }

  get count(): number {
    return this.names.size;
  }

  /** The directories to make, every parent before its children. */
  dirs(): string[] {
    return [...this.dirSet].sort((a, b) => a.split('/').length - b.split('/').length || a.localeCompare(b));
  }
}

/**
 * Checks and decodes the requested files: their names (FileNames), each within maxFileBytes and all within
 * maxFilesBytes. `names` is returned for files that come after these (a multipart request's parts).
 */
export function checkFiles(files: readonly RequestedFile[], scriptFilename: string, limits: FileLimits): FilesChecked {
  const out: CheckedFile[] = [];
  const names = new FileNames(scriptFilename);
  let total = 0;
  for (const [i, f] of files.entries()) {
    const field = `files.${i}.path`;
    const problem = names.add(f.path);
    if (problem) return { ok: false, status: 400, field, message: `${field}: ${problem}` };
    const bytes = decode(f);
    if (!bytes) return { ok: false, status: 400, field: `files.${i}.content`, message: `files.${i}.content: not valid base64 (file ${JSON.stringify(f.path)})` };
    if (bytes.length > limits.maxFileBytes) {
      return { ok: false, status: 413, field: `files.${i}.content`, message: `files.${i}.content: ${JSON.stringify(f.path)} is larger than the limit of ${limits.maxFileBytes} bytes per file` };
    }
    total += bytes.length;
    if (total > limits.maxFilesBytes) {
      return { ok: false, status: 413, field: 'files', message: `files: together larger than the limit of ${limits.maxFilesBytes} bytes` };
    }
    out.push({ path: f.path, mode: f.mode === '0755' ? 0o755 : 0o644, bytes });
  }
  return { ok: true, files: out, dirs: names.dirs(), totalBytes: total, names };
}

/**
 * The tmpfs a job's /work needs: the configured size when its files take at most a quarter of it (so that such a
 * job can still take a pooled sandbox, started with that size), else that size plus the files, within the
 * admin's maximum (null: too big).
 */
export function tmpfsFor(filesBytes: number, tmpfsMb: number, maxTmpfsMb: number): number | null {
  if (filesBytes * 4 <= tmpfsMb * 1024 * 1024) return tmpfsMb;
  const need = tmpfsMb + Math.ceil(filesBytes / (1024 * 1024));
  return need <= Math.max(maxTmpfsMb, tmpfsMb) ? need : null;
}
