import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalPythonName,
  dependencyIssues,
  LIMITS,
  parseDependencies,
  parseNpmSpec,
  parsePythonRequirement,
  parseRequirementsText,
  validNpmName,
} from '../../src/dependencies/specifiers.js';

describe('parsePythonRequirement', () => {
  const ok: Array<[string, string, string]> = [
    ['six', 'six', 'six'],
    ['pandas==2.2.3', 'pandas', 'pandas==2.2.3'],
    ['requests>=2.31', 'requests', 'requests>=2.31'],
    ['  Requests >= 2.31 ', 'requests', 'requests>=2.31'],
    ['Typing_Extensions', 'typing-extensions', 'typing-extensions'],
    ['zope.interface~=6.0', 'zope-interface', 'zope-interface~=6.0'],
    ['requests[socks,security]>=2', 'requests', 'requests[security,socks]>=2'],
    ['requests [ Socks ]', 'requests', 'requests[socks]'],
    ['numpy<2,>=1.26', 'numpy', 'numpy<2,>=1.26'],
    ['numpy>=1.26, <2', 'numpy', 'numpy<2,>=1.26'],
    ['numpy (>=1.26,<2)', 'numpy', 'numpy<2,>=1.26'],
    ['django==4.2.*', 'django', 'django==4.2.*'],
    ['django!=4.1.*', 'django', 'django!=4.1.*'],
    ['pkg==1.0rc1', 'pkg', 'pkg==1.0rc1'],
    ['pkg==1.0.post2.dev3', 'pkg', 'pkg==1.0.post2.dev3'],
    ['pkg==1!2.0', 'pkg', 'pkg==1!2.0'],
    ['pkg==1.0+local.1', 'pkg', 'pkg==1.0+local.1'],
    ['pkg===weird-thing', 'pkg', 'pkg===weird-thing'],
  ];
  for (const [input, name, spec] of ok) {
    test(`accepts ${JSON.stringify(input)} as ${spec}`, () => {
      const r = parsePythonRequirement(input);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.pkg, { name, spec });
    });
  }

  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['-e .', /pip options/],
    ['--index-url https://evil.example/simple', /pip options/],
    ['https://example.com/pkg.whl', /URLs, paths and archives/],
    ['./local/pkg', /URLs, paths/],
    ['/abs/pkg', /URLs, paths/],
    ['pkg-1.0.tar.gz', /archives/],
    ['git+https://github.com/a/b', /URLs/],
    ['pkg @ https://example.com/pkg-1.0.whl', /direct references/],
    ['pkg; python_version < "3.8"', /environment markers .*python_version/],
    ['pkg==', /not a version specifier/],
    ['pkg=1.0', /not a version specifier/],
    ['pkg==1.0.x', /not a valid version/],
    ['pkg>=1.*', /not a valid version/],
    ['pkg~=1', /at least two parts/],
    ['pkg[bad extra]', /not a valid extra/],
    ['_pkg', /not a requirement/],
    ['pkg-', /not a requirement/],
    ['two words', /not a version specifier/],
    ['x'.repeat(LIMITS.maxSpecLength + 1), /longer than/],
  ];
  for (const [input, message] of bad) {
    test(`refuses ${JSON.stringify(input.slice(0, 60))}`, () => {
      const r = parsePythonRequirement(input);
      assert.equal(r.ok, false);
      assert.match((r as { message: string }).message, message);
    });
  }

  test('canonical names follow PEP 503', () => {
    assert.equal(canonicalPythonName('Foo.Bar__baz--Qux'), 'foo-bar-baz-qux');
  });
});

describe('parseRequirementsText', () => {
  test('requirements, comments, blank lines and continuations', () => {
    const r = parseRequirementsText('# pinned\nsix==1.16.0  # inline comment\n\nrequests>=2.31,\\\n  <3\n');
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.items, [
      { line: 2, text: 'six==1.16.0' },
      { line: 4, text: 'requests>=2.31,  <3' },
    ]);
  });
  const bad: Array<[string, RegExp]> = [
    ['six\n-r other.txt', /line 2: pip options \(`-r`\)/],
    ['-e git+https://x/y', /line 1: pip options \(`-e`\)/],
    ['--index-url=https://evil/simple\nsix', /line 1: pip options \(`--index-url`\)/],
    ['-i https://evil/simple', /`-i`/],
    ['--extra-index-url https://evil', /--extra-index-url/],
    ['six==1.16.0 --hash=sha256:abc', /line 1: per-requirement pip options/],
  ];
  for (const [text, message] of bad) {
    test(`refuses ${JSON.stringify(text)}`, () => {
      const r = parseRequirementsText(text);
      assert.equal(r.issues.length, 1, JSON.stringify(r));
      assert.match(r.issues[0]!.message, message);
      assert.deepEqual(r.issues[0]!.path, ['requirements']);
    });
  }
});

describe('parseNpmSpec', () => {
  const ok: Array<[string, string, string]> = [
    ['lodash', 'lodash', 'lodash@latest'],
    ['axios@^1.7', 'axios', 'axios@^1.7'],
    ['lodash@4.17.21', 'lodash', 'lodash@4.17.21'],
    ['lodash@~4.17', 'lodash', 'lodash@~4.17'],
    ['lodash@>=4 <5', 'lodash', 'lodash@>=4 <5'],
    ['lodash@1.x || 2.x', 'lodash', 'lodash@1.x || 2.x'],
    ['react@next', 'react', 'react@next'],
    ['@types/node', '@types/node', '@types/node@latest'],
    ['@types/node@^20', '@types/node', '@types/node@^20'],
    ['JSONStream@1', 'JSONStream', 'JSONStream@1'],
    ['lodash@', 'lodash', 'lodash@latest'],
  ];
  for (const [input, name, spec] of ok) {
    test(`accepts ${JSON.stringify(input)}`, () => {
      const r = parseNpmSpec(input);
      assert.ok(r.ok, JSON.stringify(r));
      assert.deepEqual(r.pkg, { name, spec });
    });
  }
  const bad: Array<[string, RegExp]> = [
    ['', /empty/],
    ['git+https://github.com/lodash/lodash.git', /git, URL/],
    ['github:lodash/lodash', /git, URL/],
    ['lodash/lodash', /not a valid npm package name/],
    ['file:../x', /git, URL/],
    ['./local', /git, URL/],
    ['https://registry.example/x.tgz', /git, URL/],
    ['lodash@npm:underscore@1', /alias/],
    ['lodash@git+ssh://git@github.com/a/b', /refused/],
    ['lodash@github:a/b', /refused/],
    ['lodash@file:../x', /refused/],
    ['lodash@a/b', /GitHub shorthands/],
    ['lodash@./x.tgz', /refused/],
    ['lodash@workspace:*', /workspace/],
    ['lodash@^^1', /neither a semver range/],
    ['.hidden', /not a valid npm package name/],
    ['_under', /not a valid npm package name/],
    ['@scope', /not a valid npm package name/],
    ['sp ace', /not a valid npm package name/],
  ];
  for (const [input, message] of bad) {
    test(`refuses ${JSON.stringify(input)}`, () => {
      const r = parseNpmSpec(input);
      assert.equal(r.ok, false, JSON.stringify(r));
      assert.match((r as { message: string }).message, message);
    });
  }
  test('npm names', () => {
    assert.ok(validNpmName('a'));
    assert.ok(validNpmName('@a/b.c-d_e'));
    assert.ok(!validNpmName('node_modules'));
    assert.ok(!validNpmName('a'.repeat(215)));
  });
});

describe('parseDependencies', () => {
  test('the issue example, python: normalised and sorted', () => {
    const r = parseDependencies('python', { dependencies: { python: ['requests>=2.31', 'pandas==2.2.3'] } });
    assert.deepEqual(r, {
      ok: true,
      set: {
        language: 'python',
        packages: [
          { name: 'pandas', spec: 'pandas==2.2.3' },
          { name: 'requests', spec: 'requests>=2.31' },
        ],
      },
    });
  });
  test('equal requests give equal sets', () => {
    const a = parseDependencies('python', { dependencies: { python: ['Six', 'requests >= 2.31'] } });
    const b = parseDependencies('python', { requirements: 'requests>=2.31\nsix\n' });
    assert.deepEqual(a, b);
    const c = parseDependencies('node', { dependencies: { node: ['lodash', 'axios@^1.7'] } });
    const d = parseDependencies('node', { packageJson: { name: 'x', dependencies: { axios: '^1.7', lodash: 'latest' } } });
    assert.deepEqual(c, d);
  });
  test('nothing asked: an empty set', () => {
    assert.deepEqual(parseDependencies('python', {}), { ok: true, set: { language: 'python', packages: [] } });
  });
  const bad: Array<[string, object, (string | number)[], RegExp]> = [
    ['python', { dependencies: { python: ['six', 'pkg==='] } }, ['dependencies', 'python', 1], /not a version specifier/],
    ['python', { dependencies: { node: ['lodash'] } }, ['dependencies', 'node'], /language is python/],
    ['python', { dependencies: { python: 'six' } }, ['dependencies', 'python'], /list of strings/],
    ['python', { dependencies: { python: [42] } }, ['dependencies', 'python', 0], /must be a string/],
    ['python', { dependencies: ['six'] }, ['dependencies'], /object keyed by language/],
    ['python', { dependencies: { python: ['six', 'Six==1'] } }, ['dependencies', 'python', 1], /six is listed twice \(also at dependencies.python.0\)/],
    ['python', { requirements: 'six\nrequests @ https://x/y.whl' }, ['requirements'], /line 2: .*direct references/],
    ['python', { requirements: 42 }, ['requirements'], /text of a requirements.txt/],
    ['python', { packageJson: {} }, ['packageJson'], /for node executions/],
    ['node', { requirements: 'six' }, ['requirements'], /for python executions/],
    ['bash', { dependencies: { python: ['six'] } }, ['dependencies'], /bash executions take no packages/],
    ['node', { dependencies: { node: ['a'] }, packageJson: {} }, ['packageJson'], /one form only/],
    ['node', { dependencies: { node: ['lodash@github:a/b'] } }, ['dependencies', 'node', 0], /refused/],
    ['node', { packageJson: { dependencies: { lodash: 'git+https://x/y' } } }, ['packageJson', 'dependencies', 'lodash'], /refused/],
    ['node', { packageJson: { dependencies: { lodash: 4 } } }, ['packageJson', 'dependencies', 'lodash'], /version range string/],
    ['node', { packageJson: { dependencies: { 'Bad Name': '1' } } }, ['packageJson', 'dependencies', 'Bad Name'], /not a valid npm package name/],
    ['node', { packageJson: { dependencies: {}, overrides: { a: '1' } } }, ['packageJson', 'overrides'], /only packageJson.dependencies/],
    ['node', { packageJson: { optionalDependencies: { a: '1' } } }, ['packageJson', 'optionalDependencies'], /not supported/],
    ['node', { packageJson: [] }, ['packageJson'], /package.json object/],
    ['node', { dependencies: { node: Array.from({ length: LIMITS.maxPackages + 1 }, (_, i) => `p${i}`) } }, ['dependencies', 'node'], /at most 200/],
  ];
  for (const [language, body, path, message] of bad) {
    test(`${language} ${JSON.stringify(body).slice(0, 70)}: ${path.join('.')}`, () => {
      const issues = dependencyIssues(language, body);
      assert.ok(issues.length >= 1, 'an issue');
      const hit = issues.find((i) => JSON.stringify(i.path) === JSON.stringify(path));
      assert.ok(hit, `an issue at ${JSON.stringify(path)}: ${JSON.stringify(issues)}`);
      assert.match(hit.message, message);
    });
  }
  test('package.json fields that do not change resolution are ignored', () => {
    const r = parseDependencies('node', { packageJson: { name: 'x', version: '1.0.0', scripts: { postinstall: 'rm -rf /' }, devDependencies: { tsx: '^4' }, dependencies: { lodash: '^4' } } });
    assert.deepEqual(r, { ok: true, set: { language: 'node', packages: [{ name: 'lodash', spec: 'lodash@^4' }] } });
  });
});
