// Production server for the Cronium dashboard: serves the Remix build (npm run build -w web) with Express.
// Config: CRONIUM_API_URL (default http://127.0.0.1:8080), CRONIUM_WEB_HOST (127.0.0.1), CRONIUM_WEB_PORT (3000;
// 0 picks a free port), CRONIUM_SESSION_SECRET (else generated into ${CRONIUM_DATA_DIR:-./.cronium}/web-session.key).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequestHandler } from '@remix-run/express';
import express from 'express';

process.env.NODE_ENV = 'production';
const here = path.dirname(fileURLToPath(import.meta.url));
const buildDir = path.join(here, 'build');
const serverBuild = path.join(buildDir, 'server', 'index.js');
if (!fs.existsSync(serverBuild)) {
  console.error(`cronium web: no build at ${serverBuild}; run "npm run build -w web" first`);
  process.exit(1);
}

const host = process.env.CRONIUM_WEB_HOST || '127.0.0.1';
const port = Number(process.env.CRONIUM_WEB_PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`cronium web: CRONIUM_WEB_PORT must be a port number, not "${process.env.CRONIUM_WEB_PORT}"`);
  process.exit(1);
}

const build = await import(pathToFileURL(serverBuild).href);
// Resolve the session secret now, so a problem with it stops the start instead of the first request.
const { sessionSecretCheck } = build.entry?.module ?? {};
if (typeof sessionSecretCheck === 'function') sessionSecretCheck();

const app = express();
app.disable('x-powered-by');
app.use('/assets', express.static(path.join(buildDir, 'client', 'assets'), { immutable: true, maxAge: '1y', index: false }));
app.use(express.static(path.join(buildDir, 'client'), { maxAge: '1h', index: false }));
app.get('/healthz', (_req, res) => res.json({ ok: true }));
app.all('*', createRequestHandler({ build, mode: 'production' }));
app.use((err, _req, res, _next) => {
  console.error('cronium web: request failed:', err);
  if (!res.headersSent) res.status(500).type('text').send('internal error; see the dashboard server log');
  else res.end();
});

const server = app.listen(port, host, () => {
  const addr = server.address();
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${typeof addr === 'object' && addr ? addr.port : port}`;
  console.log(`cronium web listening on ${url} (API: ${process.env.CRONIUM_API_URL || 'http://127.0.0.1:8080'})`);
});
server.on('error', (err) => {
  console.error(`cronium web: cannot listen on ${host}:${port}: ${err.message}`);
  process.exit(1);
});
// Live log streams stay open; close them on shutdown rather than waiting for them.
const shutdown = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 3000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
