// Runs the Python SDK's unittest suite inside the project's single node:test run.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

test('Python SDK unit tests (python3 -m unittest)', () => {
  const root = new URL('../..', import.meta.url).pathname;
  const r = spawnSync('python3', ['-m', 'unittest', 'discover', '-s', 'sdk-python/tests', '-v'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  const m = /Ran (\d+) tests?/.exec(r.stderr);
  assert.ok(m && Number(m[1]) > 0, 'the Python suite ran tests');
});
