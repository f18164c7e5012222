import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const root = path.resolve(new URL('..', import.meta.url).pathname);

export function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    console.error(`\n${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

function newestMtime(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** Builds the workspaces whose output is missing or older than their sources. */
export function buildIfStale({ web = false } = {}) {
  const stale = (src, out) => !fs.existsSync(path.join(root, out)) || newestMtime(path.join(root, src)) > newestMtime(path.join(root, out));
  if (stale('sdk-node/src', 'sdk-node/dist')) run('npm', ['run', 'build', '-w', 'sdk-node']);
  if (stale('server/src', 'server/dist')) run('npm', ['run', 'build', '-w', 'server']);
  else run('npm', ['run', 'build:native', '-w', 'server']); // the server build does this itself
  if (web && stale('web/app', 'web/build')) run('npm', ['run', 'build', '-w', 'web']);
}

export function hostSetup(extra = []) {
  if (process.env.CRONIUM_SKIP_HOST_SETUP === '1') return;
  run('bash', ['scripts/host-setup.sh', ...extra]);
}
