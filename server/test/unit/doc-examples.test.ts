import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkShellCommands, extractExamples } from '../doc-examples.js';

test('fenced blocks are found with their kind, indented and tilde fences included', () => {
  const md = [
    '# Title',
    '```python fixture=order',
    'print(1)',
    '```',
    '- a list item:',
    '',
    '  ```text',
    '  a diagram',
    '    indented more',
    '  ```',
    '~~~sh api',
    'curl -s http://127.0.0.1:8080/health',
    '~~~',
    '````js norun',
    '```',
    'still inside',
    '````',
    '```json',
    '{ "a": 1 }',
    '```',
    '``` inline `code` on its own line',
  ].join('\n');
  const ex = extractExamples('X.md', md);
  assert.deepEqual(
    ex.map((e) => [e.line, e.lang, e.kind, e.code, e.problem]),
    [
      [2, 'python', 'sandbox', 'print(1)', undefined],
      [7, 'text', 'text', 'a diagram\n  indented more', undefined],
      [11, 'sh', 'api', 'curl -s http://127.0.0.1:8080/health', undefined],
      [14, 'js', 'norun', '```\nstill inside', undefined],
      [18, 'json', 'json', '{ "a": 1 }', undefined],
    ],
  );
  assert.equal(ex[0]!.attrs.fixture, 'order');
});

test('a block that does not say what it is, or is never closed, is a problem', () => {
  const problems = (md: string) => extractExamples('X.md', md).map((e) => e.problem);
  assert.match(problems('```\nls\n```')[0]!, /without a language/);
  assert.match(problems('```sh\nls\n```')[0]!, /sh api.*sh run.*sh norun/);
  assert.match(problems('```ruby\nputs 1\n```')[0]!, /unknown language "ruby"/);
  assert.match(problems('```bash skip\necho\n```')[0]!, /unknown attribute skip/);
  assert.match(problems('```sh norun fixture=x\necho\n```')[0] ?? 'none', /none/, 'norun wins');
  assert.match(problems('```python\nprint(1)\n')[0]!, /never closed/);
});

test('norun shell blocks: the npm scripts, workspaces and files they name must exist', () => {
  const facts = {
    scripts: (ws: string | null) => (ws === null ? new Set(['start', 'test', 'images']) : ws === 'server' ? new Set(['doctor', 'build']) : null),
    exists: (p: string) => ['runtime-images/build.sh', 'sdk-bash/test/', 'sdk-python/tests'].includes(p),
  };
  assert.deepEqual(
    checkShellCommands(
      [
        'npm install && npm start     # API on …',
        'npm test',
        'npm run images',
        'npm run doctor -w server',
        'bash runtime-images/build.sh --force',
        'node --test sdk-bash/test/   # from the root',
        'python3 -m unittest discover -s sdk-python/tests -v',
        'node --import tsx --test <file>',
        'docker compose up -d --build',
      ].join('\n'),
      facts,
    ),
    [],
  );
  assert.deepEqual(checkShellCommands('npm run bench\nnpm run x -w nope\nbash scripts/missing.sh; node a/b.mjs', facts), [
    'npm run bench: the root package has no npm script "bench"',
    'npm run x -w nope: there is no workspace nope',
    'bash scripts/missing.sh: scripts/missing.sh does not exist',
    'node a/b.mjs: a/b.mjs does not exist',
  ]);
});
