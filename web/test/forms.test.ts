import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  hostPatternProblem,
  parseEgressRuleForm,
  parseEnv,
  parseKeyForm,
  parseJson,
  parseList,
  parseNumber,
  parsePorts,
  parseRunForm,
  parseSecretForm,
  parseSettingsForm,
  parseUserForm,
  parseVariableForm,
  safeRedirect,
} from '../app/lib/forms';

function form(entries: [string, string][] | Record<string, string>): FormData {
  const f = new FormData();
  for (const [k, v] of Array.isArray(entries) ? entries : Object.entries(entries)) f.append(k, v);
  return f;
}

describe('parseJson', () => {
  it('treats blank as no value and parses JSON of any kind', () => {
    assert.deepEqual(parseJson('  \n'), { ok: true, value: undefined, empty: true });
    assert.deepEqual(parseJson('{"a": [1, "x"]}'), { ok: true, value: { a: [1, 'x'] }, empty: false });
    assert.deepEqual(parseJson('"text"'), { ok: true, value: 'text', empty: false });
    assert.deepEqual(parseJson('null'), { ok: true, value: null, empty: false });
  });
  it('names the line and column of a syntax error', () => {
    const r = parseJson('{\n  "a": 1,\n  b: 2\n}');
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /not valid JSON \(line 3, column 3\)/);
  });
});

describe('parseNumber', () => {
  it('accepts blanks, numbers within bounds and rejects the rest', () => {
    assert.deepEqual(parseNumber(''), { ok: true, value: undefined });
    assert.deepEqual(parseNumber(' 1.5 '), { ok: true, value: 1.5 });
    assert.deepEqual(parseNumber('12abc'), { ok: false, error: 'enter a number' });
    assert.deepEqual(parseNumber('Infinity'), { ok: false, error: 'enter a number' });
    assert.deepEqual(parseNumber('1.5', { integer: true }), { ok: false, error: 'enter a whole number' });
    assert.deepEqual(parseNumber('4', { min: 8 }), { ok: false, error: 'must be at least 8' });
    assert.deepEqual(parseNumber('65', { max: 64 }), { ok: false, error: 'must be at most 64' });
  });
});

describe('lists, ports, environment', () => {
  it('splits on lines and commas, trims and dedupes', () => {
    assert.deepEqual(parseList(' a.com,\n b.com \n\n a.com '), ['a.com', 'b.com']);
  });
  it('reads ports', () => {
    assert.deepEqual(parsePorts(''), { ok: true, value: undefined });
    assert.deepEqual(parsePorts('443, 8443,443'), { ok: true, value: [443, 8443] });
    assert.deepEqual(parsePorts('0'), { ok: false, error: '"0" is not a port between 1 and 65535' });
    assert.deepEqual(parsePorts('http'), { ok: false, error: '"http" is not a port between 1 and 65535' });
  });
  it('reads NAME=value lines, keeping = and spaces in values', () => {
    assert.deepEqual(parseEnv('# comment\nA=1\n\nB_2= x=y \r\n'), { ok: true, value: { A: '1', B_2: ' x=y ' } });
    assert.deepEqual(parseEnv(''), { ok: true, value: undefined });
    assert.deepEqual(parseEnv('A=1\nnot a pair'), { ok: false, error: 'line 2: write NAME=value' });
    assert.deepEqual(parseEnv('1A=x'), { ok: false, error: 'line 1: "1A" is not a valid variable name' });
  });
});

describe('hostPatternProblem', () => {
  it('accepts hosts, wildcards, host:port, IPs and ranges', () => {
    for (const ok of ['example.com', 'api.example.com', '*.example.com', 'localhost', 'api.example.com:443', '10.0.0.1', '10.0.0.0/8', '[::1]:443', '2001:db8::/32']) {
      assert.equal(hostPatternProblem(ok), null, ok);
    }
  });
  it('explains what is wrong with URLs, paths, bad wildcards and addresses', () => {
    assert.match(hostPatternProblem('https://example.com')!, /not a URL/);
    assert.match(hostPatternProblem('example.com/path')!, /without spaces, paths/);
    assert.match(hostPatternProblem('user@example.com')!, /credentials/);
    assert.match(hostPatternProblem('*')!, /lone \*/);
    assert.match(hostPatternProblem('api.*.com')!, /whole first label/);
    assert.match(hostPatternProblem('-bad.com')!, /not a valid host name/);
    assert.match(hostPatternProblem('300.1.1.1')!, /IPv4/);
    assert.match(hostPatternProblem('example.com:70000')!, /port/);
    assert.equal(hostPatternProblem(''), 'enter a host name');
  });
});

describe('parseRunForm', () => {
  it('sends stdin as typed, its CRLF line breaks (a textarea\'s) as LF; an empty box sends none', () => {
    const r = parseRunForm(form({ language: 'bash', script: 'cat', stdin: 'one\r\ntwo\r\n' }));
    assert.ok(r.ok);
    assert.equal(r.value.stdin, 'one\ntwo\n');
    const none = parseRunForm(form({ language: 'bash', script: 'cat', stdin: '' }));
    assert.ok(none.ok);
    assert.equal('stdin' in none.value, false);
  });

  it('builds the API request from the Run form', () => {
    const r = parseRunForm(
      form([
        ['language', 'python'],
        ['script', 'print(1)\r\n'],
        ['input', '{"name": "Ada"}'],
        ['timeout', '2.5'],
        ['memoryMb', '128'],
        ['cpus', '0.5'],
        ['pids', ''],
        ['isolation', 'default'],
        ['egress', 'api.example.com\n*.example.org'],
        ['secrets', 'TOKEN'],
        ['secrets', 'OTHER'],
        ['env', 'MODE=test'],
      ]),
    );
    assert.deepEqual(r, {
      ok: true,
      value: {
        language: 'python',
        script: 'print(1)\n',
        input: { name: 'Ada' },
        timeoutMs: 2500,
        resources: { memoryMb: 128, cpus: 0.5 },
        egress: { allow: ['api.example.com', '*.example.org'] },
        secrets: ['TOKEN', 'OTHER'],
        env: { MODE: 'test' },
      },
    });
  });
  it('leaves optional parts out when blank', () => {
    assert.deepEqual(parseRunForm(form({ language: 'bash', script: 'echo hi', input: '', isolation: 'standard' })), {
      ok: true,
      value: { language: 'bash', script: 'echo hi', isolation: 'standard' },
    });
  });
  it('takes the Packages box as the language\'s dependencies, one per line, without comments; none for bash', () => {
    const py = parseRunForm(form({ language: 'python', script: 'import six', packages: 'six==1.16.0\r\n\n# a comment\nrequests>=2.31  # pinned below 3\n' }));
    assert.deepEqual(py.ok && py.value.dependencies, { python: ['six==1.16.0', 'requests>=2.31'] });
    const js = parseRunForm(form({ language: 'node', script: 'require("lodash")', packages: 'lodash\naxios@^1.7' }));
    assert.deepEqual(js.ok && js.value.dependencies, { node: ['lodash', 'axios@^1.7'] });
    const sh = parseRunForm(form({ language: 'bash', script: 'echo', packages: 'six' }));
    assert.equal(sh.ok && 'dependencies' in sh.value, false);
  });
  it('reports every problem against its field', () => {
    const r = parseRunForm(
      form({ language: 'ruby', script: '  ', input: '{bad', timeout: '-1', memoryMb: '8', cpus: 'x', pids: '2.5', egress: 'http://x.com', env: 'nope', isolation: 'vm' }),
    );
    assert.equal(r.ok, false);
    const e = (r as { errors: Record<string, string> }).errors;
    assert.deepEqual(Object.keys(e).sort(), ['cpus', 'egress', 'env', 'input', 'isolation', 'language', 'memoryMb', 'pids', 'script', 'timeout']);
    assert.match(e.egress!, /^http:\/\/x\.com: .*not a URL/);
    assert.equal(e.memoryMb, 'must be at least 16');
  });
});

describe('parseSettingsForm', () => {
  const base = {
    executionPolicy: 'admin_only',
    defaultIsolation: 'standard',
    allowIsolationChoice: 'on',
    maxConcurrency: '4',
    maxConcurrencyPerUser: '2',
    maxQueue: '100',
    'defaultLimits.timeout': '30',
    'defaultLimits.memoryMb': '256',
    'defaultLimits.cpus': '1',
    'defaultLimits.pids': '',
    'maxLimits.timeout': '60',
    'maxLimits.memoryMb': '',
    'maxLimits.cpus': '2',
    'maxLimits.pids': '512',
  };
  it('builds a PATCH with nested limits (timeouts typed in seconds); blank numbers are left unchanged; unchecked boxes are false', () => {
    assert.deepEqual(parseSettingsForm(form(base)), {
      ok: true,
      value: {
        executionPolicy: 'admin_only',
        defaultIsolation: 'standard',
        allowIsolationChoice: true,
        allowExecutionEgressRules: false,
        maxConcurrency: 4,
        maxConcurrencyPerUser: 2,
        maxQueue: 100,
        defaultLimits: { timeoutMs: 30000, memoryMb: 256, cpus: 1 },
        maxLimits: { timeoutMs: 60000, cpus: 2, pids: 512 },
      },
    });
  });
  it('sends a per-user limit only when it was changed, and null for a blank one (it follows the server-wide limit again)', () => {
    const shown = { ...base, maxConcurrencyPerUser: '2', 'maxConcurrencyPerUser.loaded': '2', maxQueuedPerUser: '25', 'maxQueuedPerUser.loaded': '25' };
    const unchanged = parseSettingsForm(form(shown));
    assert.ok(unchanged.ok);
    assert.equal('maxConcurrencyPerUser' in unchanged.value, false, 'a derived value shown and saved as it was is not pinned');
    assert.equal('maxQueuedPerUser' in unchanged.value, false);
    const changed = parseSettingsForm(form({ ...shown, maxConcurrencyPerUser: '3', maxQueuedPerUser: '' }));
    assert.ok(changed.ok);
    assert.equal(changed.value.maxConcurrencyPerUser, 3);
    assert.equal(changed.value.maxQueuedPerUser, null);
  });
  it('names the dotted field that is wrong', () => {
    const r = parseSettingsForm(form({ ...base, executionPolicy: 'everyone', 'defaultLimits.timeout': '90', 'maxLimits.pids': '4', maxConcurrency: '0' }));
    assert.deepEqual((r as { errors: Record<string, string> }).errors, {
      executionPolicy: 'choose who may run executions',
      maxConcurrency: 'must be at least 1',
      'maxLimits.pids': 'must be at least 8',
      'defaultLimits.timeout': 'must not exceed the maximum (60 s)',
    });
  });
});

describe('small forms', () => {
  it('secrets: a valid name and a value; the value is kept as typed', () => {
    assert.deepEqual(parseSecretForm(form({ name: 'API_TOKEN', value: ' s3cret ' })), { ok: true, value: { name: 'API_TOKEN', value: ' s3cret ' } });
    const r = parseSecretForm(form({ name: '9lives', value: '' }));
    assert.deepEqual(Object.keys((r as { errors: object }).errors), ['name', 'value']);
  });
  it('variables: JSON values, with a hint about quoting strings', () => {
    assert.deepEqual(parseVariableForm(form({ key: 'a.b:c', value: '[1, 2]' })), { ok: true, value: { key: 'a.b:c', value: [1, 2] } });
    assert.deepEqual(parseVariableForm(form({ key: 'k', value: 'false' })), { ok: true, value: { key: 'k', value: false } });
    const r = parseVariableForm(form({ key: 'bad key', value: 'hello' }));
    const e = (r as { errors: Record<string, string> }).errors;
    assert.match(e.key!, /letters, digits/);
    assert.match(e.value!, /strings need quotes/);
    assert.match((parseVariableForm(form({ key: 'k', value: '' })) as { errors: Record<string, string> }).errors.value!, /enter a JSON value/);
  });
  it('egress rules: only admins may ask for global scope', () => {
    assert.deepEqual(parseEgressRuleForm(form({ pattern: ' API.Example.com ', ports: '443', scope: 'global' }), true), {
      ok: true,
      value: { pattern: 'api.example.com', scope: 'global', ports: [443] },
    });
    assert.deepEqual(parseEgressRuleForm(form({ pattern: 'example.com' }), false), { ok: true, value: { pattern: 'example.com', scope: 'user' } });
    assert.deepEqual((parseEgressRuleForm(form({ pattern: 'example.com', scope: 'global' }), false) as { errors: object }).errors, {
      scope: 'only admins may add global rules',
    });
  });
  it('users: name and role', () => {
    assert.deepEqual(parseUserForm(form({ name: 'ada.l@x', role: 'admin' })), { ok: true, value: { name: 'ada.l@x', role: 'admin' } });
    assert.deepEqual(parseUserForm(form({ name: 'ada' })), { ok: true, value: { name: 'ada', role: 'user' } });
    assert.deepEqual(Object.keys((parseUserForm(form({ name: 'a b', role: 'root' })) as { errors: object }).errors), ['name', 'role']);
  });
});

describe('parseKeyForm', () => {
  it('an optional key name of at most 100 characters', () => {
    assert.deepEqual(parseKeyForm(form({ userId: 'u1', keyName: ' laptop ' })), { ok: true, value: { userId: 'u1', name: 'laptop' } });
    assert.deepEqual(parseKeyForm(form({ userId: 'u1' })), { ok: true, value: { userId: 'u1', name: '' } });
    assert.deepEqual(parseKeyForm(form({ userId: 'u1', keyName: 'x'.repeat(101) })), { ok: false, errors: { keyName: 'use at most 100 characters' } });
  });
});

describe('safeRedirect', () => {
  it('keeps local paths with their query', () => {
    assert.equal(safeRedirect('/executions?status=failed#x'), '/executions?status=failed#x');
    assert.equal(safeRedirect('/run'), '/run');
  });
  it('refuses other origins and odd values', () => {
    for (const bad of ['//evil.example', 'https://evil.example', '/\\evil.example', 'evil', '', null, undefined, 42, '/a\nb', '/login', '/logout']) {
      assert.equal(safeRedirect(bad), '/', String(bad));
    }
  });
});
