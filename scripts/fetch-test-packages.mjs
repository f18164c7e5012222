// Downloads the real packages the dependency tests serve from their local index (server/test/fixtures/
// package-index.ts): six, requests and its dependencies (wheels for CPython 3.11 on manylinux x86_64) and lodash,
// each pinned and verified by hash, into .cache/test-packages/ (gitignored). The host's own pip and npm
// configuration decides where they come from (PyPI and the npm registry, or the host's mirror), as it would for
// any download on this machine; nothing is installed and no package code runs. Safe to run again: files already
// there with the right hash are kept. Exits non-zero when a file cannot be fetched or its hash is wrong.
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(new URL('..', import.meta.url).pathname);
export const cacheDir = path.join(root, '.cache/test-packages');

/** Wheel file → sha256 (the hashes PyPI publishes for these files). */
export const WHEELS = {
  'six==1.17.0': ['six-1.17.0-py2.py3-none-any.whl', '4721f391ed90541fddacab5acf947aa0d3dc7d27b2e1e8eda2be8970586c3274'],
  'requests==2.34.2': ['requests-2.34.2-py3-none-any.whl', '2a0d60c172f83ac6ab31e4554906c0f3b3588d37b5cb939b1c061f4907e278e0'],
  'idna==3.20': ['idna-3.20-py3-none-any.whl', 'ab7ae7122974553370f0bdb919e1a960b2cd1bc1ef0276416d896db81c14582c'],
  'urllib3==2.8.0': ['urllib3-2.8.0-py3-none-any.whl', '0cf3cae568d36aa9576b28dfb35f11328f1cb974ca7647d9475ebb86c75ac6e3'],
  'certifi==2026.7.22': ['certifi-2026.7.22-py3-none-any.whl', '62f22742b58a1a33014a2b6b706588a8d7e2a88ae7bd1a6ebe8c992928483775'],
  'charset-normalizer==3.5.2': [
    'charset_normalizer-3.5.2-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64.manylinux_2_28_x86_64.whl',
    '211d5a3eb6af8f513b8d4ca19a8c1b7accab1b5f0d3175f9826b03c1a920dc1f',
  ],
};

/** npm spec → [tarball file, integrity]. */
export const TARBALLS = {
  'lodash@4.17.21': ['lodash-4.17.21.tgz', 'sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg=='],
};

const sha = (algo, file, enc) => crypto.createHash(algo).update(fs.readFileSync(file)).digest(enc);
const good = (file, check) => fs.existsSync(file) && check(file);

function fetchAll() {
  const pyDir = path.join(cacheDir, 'pypi');
  const npmDir = path.join(cacheDir, 'npm');
  fs.mkdirSync(pyDir, { recursive: true });
  fs.mkdirSync(npmDir, { recursive: true });
  const problems = [];

  const wheelOk = ([file, hex]) => good(path.join(pyDir, file), (f) => sha('sha256', f, 'hex') === hex);
  const missingWheels = Object.entries(WHEELS).filter(([, w]) => !wheelOk(w));
  if (missingWheels.length) {
    const r = spawnSync(
      'python3',
      // The target is the runtime image's (CPython 3.11, glibc ≥ 2.17, x86_64), not this host's Python.
      ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--dest', pyDir, '--python-version', '3.11', '--implementation', 'cp', '--abi', 'cp311',
        '--platform', 'manylinux_2_17_x86_64', '--platform', 'manylinux2014_x86_64', ...missingWheels.map(([spec]) => spec)],
      { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' },
    );
    if (r.status !== 0) problems.push(`pip download failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ')}`);
    for (const [spec, w] of missingWheels) if (!wheelOk(w)) problems.push(`${spec}: ${w[0]} missing or its sha256 is not ${w[1]}`);
  }

  for (const [spec, [file, integrity]] of Object.entries(TARBALLS)) {
    const ok = () => good(path.join(npmDir, file), (f) => `sha512-${sha('sha512', f, 'base64')}` === integrity);
    if (ok()) continue;
    const r = spawnSync('npm', ['pack', spec, '--pack-destination', npmDir, '--ignore-scripts', '--silent'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    if (r.status !== 0) problems.push(`npm pack ${spec} failed: ${r.stderr.trim().split('\n').slice(-2).join(' ')}`);
    else if (!ok()) problems.push(`${spec}: ${file} missing or its integrity is not ${integrity}`);
  }
  return problems;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const problems = fetchAll();
  if (problems.length) {
    console.error(`fetch-test-packages: ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`fetch-test-packages: ${Object.keys(WHEELS).length} wheels and ${Object.keys(TARBALLS).length} npm tarballs in ${path.relative(root, cacheDir)}`);
}
