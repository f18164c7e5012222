import { spawn } from 'node:child_process';
import { DependencyError } from './errors.js';

export interface ToolRun {
  code: number | null;
  /** stdout and stderr interleaved, as lines. */
  lines: string[];
}

/**
 * Runs pip or npm on the host with exactly the environment given (no inherited variables: the host's PIP_* and
 * npm_config_* would change what gets fetched from where). Each output line goes to onLine as it comes.
 */
export function runTool(
  cmd: string,
  args: string[],
  opts: { env: Record<string, string>; cwd?: string; signal?: AbortSignal; timeoutMs: number; onLine?: (line: string) => void },
): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    if (opts.signal?.aborted) return reject(new DependencyError('CANCELLED', 'the execution was cancelled while its packages were being prepared'));
    const child = spawn(cmd, args, { env: opts.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: string[] = [];
    const partial = { stdout: '', stderr: '' };
    const take = (which: 'stdout' | 'stderr') => (chunk: Buffer) => {
      const text = partial[which] + chunk.toString('utf8');
      const parts = text.split(/\r?\n/);
      partial[which] = parts.pop()!;
      for (const l of parts) {
        lines.push(l);
        opts.onLine?.(l);
      }
    };
    child.stdout.on('data', take('stdout'));
    child.stderr.on('data', take('stderr'));
    let stopped: DependencyError | null = null;
    const stop = (why: DependencyError) => {
      stopped = why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => stop(new DependencyError('RESOLUTION_FAILED', `${cmd} took longer than ${Math.round(opts.timeoutMs / 1000)} s and was stopped`)), opts.timeoutMs);
    const onAbort = () => stop(new DependencyError('CANCELLED', 'the execution was cancelled while its packages were being prepared'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      reject(err.code === 'ENOENT' ? new DependencyError('TOOL_MISSING', `${cmd} is not installed on the server`) : err);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      for (const l of [partial.stdout, partial.stderr]) if (l) lines.push(l);
      if (stopped) reject(stopped);
      else resolve({ code, lines });
    });
  });
}

/** The variables a host tool may keep: where programs are, the locale, and how this host reaches the network. */
export function baseToolEnv(home: string, host: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const keep = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS', 'REQUESTS_CA_BUNDLE'];
  const env: Record<string, string> = { HOME: home };
  for (const k of keep) if (host[k]) env[k] = host[k]!;
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  return env;
}
