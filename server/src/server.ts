import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { UsersRepository } from './auth/users-repository.js';
import { buildPublicApi } from './app.js';
import { NodeRegistry } from './cluster/node-registry.js';
import type { Config } from './config.js';
import type { AppContext } from './context.js';
import type { DatabaseDriver } from './db/driver.js';
import { openDatabase } from './db/open.js';
import { SandboxFirewall } from './egress/firewall.js';
import { EgressRepository } from './egress/repository.js';
import { createEgressService } from './egress/service.js';
import { ExecutionEngine } from './executions/engine.js';
import { ExecutionEvents } from './executions/events.js';
import { executionMaskers } from './executions/maskers.js';
import { ExecutionsRepository } from './executions/repository.js';
import { createServerCounters } from './health/counters.js';
import { createRuntimeServer, signExecutionToken } from './runtime/server.js';
import { createDriver } from './sandbox/create-driver.js';
import { sandboxOptionsFromConfig } from './sandbox/options.js';
import { loadOrCreateKeyFile, parseKey, SecretBox } from './secrets/crypto.js';
import { SecretsRepository } from './secrets/repository.js';
import { SettingsService } from './settings/service.js';
import { VariablesRepository } from './variables/repository.js';

export interface RunningServer {
  url: string;
  runtimeUrl: string;
  publicApi: FastifyInstance;
  ctx: AppContext;
  /** Set on the very first start when no CRONIUM_ADMIN_KEY was given: printed once, never stored in clear. */
  generatedAdminKey?: string;
  stop(): Promise<void>;
}

/** Wires the whole server: database, Docker, the execution engine, the public API and the runtime API. */
export async function startServer(config: Config): Promise<RunningServer> {
  const log = pino({ level: config.logLevel, base: { node: config.nodeId } });
  fs.mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const encryptionKey = config.encryptionKey
    ? parseKey(config.encryptionKey, 'CRONIUM_ENCRYPTION_KEY')
    : loadOrCreateKeyFile(config.dataDir, 'encryption.key');
  const jwtSecret = config.jwtSecret ? Buffer.from(config.jwtSecret) : loadOrCreateKeyFile(config.dataDir, 'jwt.key', 48);

  let database: DatabaseDriver | null = null;
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    const db = database;
    cleanups.push(() => db.close());
    await database.migrate();

    const sandbox = sandboxOptionsFromConfig(config, log);
    const driver = createDriver(config, sandbox);
    await driver.ping();
    const network = await driver.ensureNetwork();
    // A network made by someone else (compose, an admin) must give the same isolation as ours.
    if (!network.internal || network.icc) {
      throw new Error(`the sandbox network ${network.name} must be internal with inter-container traffic disabled (Internal: true, com.docker.network.bridge.enable_icc=false)`);
    }
    const { gvisor } = await driver.capabilities();
    const missing = await driver.missingImages();
    if (missing.length) log.warn({ missing }, 'runtime images are missing: executions in those languages will fail until "npm run images" builds them');

    const users = new UsersRepository(database.db);
    const executions = new ExecutionsRepository(database.db);
    const secrets = new SecretsRepository(database.db, new SecretBox(encryptionKey));
    const variables = new VariablesRepository(database.db);
    const settings = new SettingsService(database.db, config);
    const events = new ExecutionEvents();
    const counters = createServerCounters();
    const { generatedKey } = await users.bootstrapAdmin(config.adminKey);

    const egress = new EgressRepository(database.db);
    let runtimeUrl = '';
    let proxyAddress = '';
    let runtimeApp: FastifyInstance | null = null;
    const engine = new ExecutionEngine({
      nodeId: config.nodeId,
      driver,
      executions,
      secrets,
      events,
      settings,
      log,
      maxLogBytes: config.sizes.maxLogBytes,
      maxLogLineBytes: config.sizes.maxLogLineBytes,
      counters,
      tmpfsMb: sandbox.tmpfsMb,
      tokenGraceMs: config.runtime.tokenGraceMs,
      runtime: {
        url: () => runtimeUrl,
        issueToken: (row, expiresAt) => signExecutionToken(runtimeApp!, row, expiresAt),
      },
      // Every HTTP client that honours the usual variables goes through the egress proxy, authenticated as this
      // execution; the runtime API alone is reached directly.
      sandboxEnv: (row, token) => {
        const proxy = `http://${encodeURIComponent(row.id)}:${encodeURIComponent(token)}@${proxyAddress}`;
        const direct = new URL(runtimeUrl).hostname;
        return { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, http_proxy: proxy, https_proxy: proxy, NO_PROXY: direct, no_proxy: direct };
      },
    });

    runtimeApp = await createRuntimeServer({
      db: database.db,
      executions,
      variables,
      secrets,
      engine,
      jwtSecret,
      log,
      sizes: config.sizes,
      http: config.http,
    });
    const runtimeHost = config.runtime.host ?? network.gateway;
    if (!runtimeHost) throw new Error(`the sandbox network ${network.name} has no gateway address; set CRONIUM_RUNTIME_HOST`);
    await runtimeApp.listen({ host: runtimeHost, port: config.runtime.port });
    const rt = runtimeApp;
    cleanups.push(() => rt.close());
    const rtPort = (runtimeApp.server.address() as AddressInfo).port;
    runtimeUrl = config.runtime.url ?? `http://${runtimeHost}:${rtPort}`;

    let publicPort = config.port;
    const proxy = createEgressService({
      runtimeApp,
      executions,
      egress,
      log,
      blockedPorts: config.egress.blockedPorts,
      allowCidrs: config.egress.allowCidrs,
      deniedCidrs: network.subnet ? [network.subnet] : [],
      maskers: executionMaskers({ engine, secrets }),
      serverPorts: () => [publicPort, rtPort, config.egress.dashboardPort],
      timeouts: config.http,
      onRefused: (entry) => {
        if (entry.executionId) events.emitEgressRefused(entry.executionId, entry);
      },
    });
    const proxyListen = await proxy.listen(config.egress.port, runtimeHost);
    cleanups.push(() => proxy.close());
    cleanups.push(() => egress.flush());
    proxyAddress = `${config.runtime.url ? new URL(config.runtime.url).hostname : runtimeHost}:${proxyListen.port}`;

    const firewall = new SandboxFirewall({
      bridge: network.bridge,
      networkId: network.id,
      ports: [rtPort, proxyListen.port],
      mode: config.egress.firewall,
    });
    const fw = await firewall.install();
    if (!fw.installed) log.warn({ firewall: fw }, 'the host is not guarded from sandboxes: services listening on all interfaces are reachable through the sandbox gateway');
    cleanups.push(() => firewall.uninstall());

    const registry = new NodeRegistry({ nodeId: config.nodeId, db: database.db, executions, driver, events, log });
    await registry.start();
    cleanups.push(() => registry.stop());

    const ctx: AppContext = {
      config,
      log,
      database,
      users,
      executions,
      secrets,
      variables,
      settings,
      events,
      engine,
      driver,
      network,
      gvisorAvailable: gvisor,
      runtimeUrl: () => runtimeUrl,
      egress,
      egressProxyUrl: () => `http://${proxyAddress}`,
      firewall,
      counters,
    };
    const publicApi = await buildPublicApi(ctx);
    await publicApi.listen({ host: config.host, port: config.port });
    const pub = publicApi;
    cleanups.push(() => pub.close());
    const port = (publicApi.server.address() as AddressInfo).port;
    publicPort = port;
    // Runs after the engine has stopped (cleanups run in reverse).
    cleanups.push(() => driver.close());
    engine.start();
    cleanups.push(() => engine.stop());
    if (missing.length === 0) driver.pool.start();
    cleanups.push(() => driver.pool.drain());

    let stopping: Promise<void> | null = null;
    return {
      url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
      runtimeUrl,
      publicApi,
      ctx,
      generatedAdminKey: generatedKey,
      stop: () =>
        (stopping ??= (async () => {
          for (const fn of cleanups.reverse()) await fn().catch((err: unknown) => log.error({ err }, 'shutdown step failed'));
        })()),
    };
  } catch (err) {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    throw err;
  }
}
