#!/usr/bin/env node
// stage-server.mjs: stage the server's PRODUCTION node_modules for server/Dockerfile, without the network.
//
// Docker builds on this project cannot reach the npm registry, so `npm ci --omit=dev` cannot run inside the
// image build. And `npm ci --omit=dev --workspace server` on the host is no answer either: npm (11) still
// installs the workspace's own devDependencies (typescript, @types/*) in that mode.
//
// So this script takes the dependency tree that package-lock.json records and that `npm ci` has already
// installed at the repository root, and copies exactly the packages the server needs at run time:
//   - start from server/package.json "dependencies" (+ optional dependencies and non-optional peers),
//   - resolve every name the way Node does, walking up node_modules directories (nested copies first),
//     using the lockfile's "packages" map as the source of truth,
//   - follow each package's own dependencies, transitively,
//   - check that what is installed is what the lockfile says (same version), else ask for `npm ci`,
//   - copy each package directory (not its nested node_modules: those are packages of their own, copied
//     only if needed) to deploy/.build/server/<same relative path>, dropping source maps and .d.ts files.
// Optional packages with an install script (native add-ons such as cpu-features) are left out: they are
// compiled for the host, and their users fall back to JavaScript without them.
//
// Result: deploy/.build/server/node_modules and deploy/.build/server/server/node_modules, laid out like the
// repository, so /app/server/dist resolves /app/server/node_modules then /app/node_modules in the image.
// A manifest (deploy/.build/server/manifest.json) lists every staged package and version.
//
// Usage: node deploy/stage-server.mjs [--out DIR] [--quiet]
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const args = process.argv.slice(2);
const outIdx = args.indexOf('--out');
const out = path.resolve(outIdx >= 0 ? args[outIdx + 1] : path.join(root, 'deploy/.build/server'));
const quiet = args.includes('--quiet');
const WORKSPACE = 'server';

const fail = (msg) => {
  console.error(`stage-server: error: ${msg}`);
  process.exit(1);
};

const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
if (!lock.packages || lock.lockfileVersion < 2) fail('package-lock.json has no "packages" map (lockfileVersion >= 2 needed)');
const pkgs = lock.packages;
const ws = pkgs[WORKSPACE];
if (!ws) fail(`workspace "${WORKSPACE}" is not in package-lock.json`);

/** Directories Node looks in, from the package at `key` up to the root: key, its parent package, ..., ''. */
function ancestors(key) {
  const list = [key];
  let k = key;
  while (k !== '') {
    const i = k.lastIndexOf('/node_modules/');
    k = i >= 0 ? k.slice(0, i) : '';
    list.push(k);
  }
  return list;
}

function resolve(fromKey, name) {
  for (const dir of ancestors(fromKey)) {
    const key = dir === '' ? `node_modules/${name}` : `${dir}/node_modules/${name}`;
    if (pkgs[key]) return key;
  }
  return null;
}

const wanted = new Map(); // key -> lock entry
const skipped = [];
const queue = [[WORKSPACE, ws]];
while (queue.length) {
  const [fromKey, entry] = queue.shift();
  const deps = [
    ...Object.keys(entry.dependencies ?? {}).map((n) => [n, false]),
    ...Object.keys(entry.optionalDependencies ?? {}).map((n) => [n, true]),
    // Optional peers are left to the packages that really depend on them (and are then reached that way).
    ...Object.keys(entry.peerDependencies ?? {})
      .filter((n) => !entry.peerDependenciesMeta?.[n]?.optional)
      .map((n) => [n, false]),
  ];
  for (const [name, optional] of deps) {
    let key = resolve(fromKey, name);
    if (!key) {
      if (optional) continue;
      fail(`${fromKey || 'root'} needs ${name}, which package-lock.json does not have: run npm install`);
    }
    let target = pkgs[key];
    if (target.link) {
      // A workspace package: the server must not depend on another workspace at run time (sdk-node is
      // installed in the runtime images, not in the server).
      fail(`${fromKey} depends on the workspace package ${name} (${target.resolved}): stage it explicitly`);
    }
    if (wanted.has(key)) continue;
    if (target.optional && target.hasInstallScript) {
      if (!skipped.includes(key)) skipped.push(key);
      continue;
    }
    wanted.set(key, target);
    queue.push([key, target]);
  }
}

// Check the installed tree against the lockfile before copying anything.
const problems = [];
for (const [key, entry] of wanted) {
  const pj = path.join(root, key, 'package.json');
  if (!fs.existsSync(pj)) {
    problems.push(`${key} is not installed`);
    continue;
  }
  const version = JSON.parse(fs.readFileSync(pj, 'utf8')).version;
  if (entry.version && version !== entry.version) problems.push(`${key} is ${version}, package-lock.json says ${entry.version}`);
}
if (problems.length) fail(`node_modules does not match package-lock.json (run "npm ci" at the repository root):\n  ${problems.join('\n  ')}`);

fs.rmSync(out, { recursive: true, force: true });
const dropFile = /(\.map|\.d\.ts|\.d\.mts|\.d\.cts|\.tsbuildinfo)$/;
let files = 0;
let bytes = 0;
for (const key of [...wanted.keys()].sort()) {
  const src = path.join(root, key);
  const nested = path.join(src, 'node_modules');
  fs.cpSync(src, path.join(out, key), {
    recursive: true,
    dereference: false,
    filter: (p) => {
      if (p === nested) return false;
      const st = fs.lstatSync(p);
      if (st.isFile()) {
        if (dropFile.test(p)) return false;
        files++;
        bytes += st.size;
      }
      return true;
    },
  });
}
// Both directories always exist, so that the Dockerfile can COPY them unconditionally.
for (const d of ['node_modules', `${WORKSPACE}/node_modules`]) {
  fs.mkdirSync(path.join(out, d), { recursive: true });
  fs.writeFileSync(path.join(out, d, '.cronium-staged'), 'staged by deploy/stage-server.mjs\n');
}
const manifest = {
  workspace: WORKSPACE,
  packages: Object.fromEntries([...wanted].sort(([a], [b]) => a.localeCompare(b)).map(([k, e]) => [k, e.version])),
  skipped,
};
fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
if (!quiet) {
  console.log(
    `stage-server: ${wanted.size} packages, ${files} files, ${(bytes / 1e6).toFixed(1)} MB -> ${path.relative(root, out)}` +
      (skipped.length ? ` (left out, optional native: ${skipped.join(', ')})` : ''),
  );
}
