import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { requireDocker, startTestServer, type TestServer } from '../helpers.js';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
/** Fastify's `/a/:id` is OpenAPI's `/a/{id}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

/**
 * The OpenAPI document is hand-written (server/src/openapi.ts): this keeps it honest. It must describe every route
 * the public API registers, method and path, and nothing that is not there; every path parameter is declared.
 */
describe('the OpenAPI document describes the public API exactly', { concurrency: false }, () => {
  let s: TestServer;
  let doc: any;
  let registered: { method: string; path: string }[];
  before(async () => {
    await requireDocker();
    s = await startTestServer();
    const res = await fetch(`${s.url}/api/v1/openapi.json`);
    assert.equal(res.status, 200);
    doc = await res.json();
    registered = s.server.publicApi.registeredRoutes.map((r) => ({ method: r.method.toLowerCase(), path: openApiPath(r.url) }));
  });
  after(async () => s?.stop());

  const documented = () =>
    Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, item]) =>
      Object.keys(item)
        .filter((k) => METHODS.includes(k))
        .map((method) => ({ method, path })),
    );
  const key = (r: { method: string; path: string }) => `${r.method.toUpperCase()} ${r.path}`;

  it('the server registers the routes this test knows to exist (the route list is real)', () => {
    const names = new Set(registered.map(key));
    for (const r of ['GET /api/v1/executions', 'POST /api/v1/executions/{id}/cancel', 'GET /api/v1/executions/{id}/logs', 'GET /health', 'GET /api/v1/openapi.json']) {
      assert.ok(names.has(r), `${r} is not in the registered routes: ${[...names].join(', ')}`);
    }
    assert.ok(!registered.some((r) => r.method === 'head'), 'the HEAD routes Fastify adds for GET routes are not listed');
  });

  it('every registered route is documented', () => {
    const docs = new Set(documented().map(key));
    const missing = registered.filter((r) => !docs.has(key(r))).map(key);
    assert.deepEqual(missing, [], `routes the OpenAPI document leaves out: ${missing.join(', ')}`);
  });

  it('nothing is documented that the server does not serve', () => {
    const routes = new Set(registered.map(key));
    const extra = documented()
      .filter((r) => !routes.has(key(r)))
      .map(key);
    assert.deepEqual(extra, [], `documented operations with no route: ${extra.join(', ')}`);
  });

  it('every path parameter is declared, and every declared one is in the path', () => {
    for (const [path, item] of Object.entries(doc.paths as Record<string, any>)) {
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      for (const method of Object.keys(item).filter((k) => METHODS.includes(k))) {
        const params = [...(item.parameters ?? []), ...(item[method].parameters ?? [])].map((p: any) => (p.$ref ? resolve(p.$ref) : p));
        const declared = params.filter((p: any) => p.in === 'path').map((p: any) => p.name).sort();
        assert.deepEqual(declared, inPath, `${method.toUpperCase()} ${path}: path parameters declared ${JSON.stringify(declared)}`);
        for (const p of params.filter((x: any) => x.in === 'path')) assert.equal(p.required, true, `${method.toUpperCase()} ${path}: {${p.name}} must be required`);
      }
    }
  });

  it('every operation has a summary and a success response, and every $ref resolves', () => {
    for (const { method, path } of documented()) {
      const op = doc.paths[path][method];
      assert.ok(typeof op.summary === 'string' && op.summary.length > 3, `${method.toUpperCase()} ${path} has no summary`);
      assert.ok(
        Object.keys(op.responses ?? {}).some((c) => /^2\d\d$/.test(c)),
        `${method.toUpperCase()} ${path} documents no 2xx response`,
      );
    }
    const refs: string[] = [];
    const walk = (v: unknown) => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') {
        for (const [k, x] of Object.entries(v)) {
          if (k === '$ref' && typeof x === 'string') refs.push(x);
          else walk(x);
        }
      }
    };
    walk(doc);
    assert.ok(refs.length > 10);
    for (const ref of refs) assert.ok(resolve(ref) !== undefined, `${ref} does not resolve`);
  });

  const resolve = (ref: string) =>
    ref
      .replace(/^#\//, '')
      .split('/')
      .reduce<any>((node, part) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
});
