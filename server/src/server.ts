import path from 'node:path';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { ExecutionTokens } from './auth/execution-tokens.js';
import { UsersRepository } from './auth/users-repository.js';
import { createPublicApi, registerPublicApi } from './app.js';
import { NodeRegistry } from './cluster/node-registry.js';
import type { Config } from './config.js';
import type { DatabaseDriver } from './db/driver.js';
import { openDatabase } from './db/open.js';
import { SandboxFirewall } from './egress/firewall.js';
import Docker from 'dockerode';
import { DependencyService } from './dependencies/service.js';
import { executionPackages } from './executions/packages.js';
import { sandboxBuildSteps } from './sandbox/build-step.js';
import { hostPathOf, ownMounts } from './sandbox/host/host-paths.js';
import { EgressRepository } from './egress/repository.js';
import { createEgressService } from './egress/service.js';
import { ExecutionEngine } from './executions/engine.js';
import { ExecutionEvents } from './executions/events.js';
import { ExecutionsRepository } from './executions/repository.js';
import { DiskFileStore } from './files/disk-store.js';
import { JobInputs } from './files/job-inputs.js';
import { ExecutionArtifacts } from './files/artifacts.js';
import { startArtifactCleanup } from './files/artifact-cleanup.js';
import { S3FileStore } from './files/s3-store.js';
import { PgLargeObjectFileStore } from './files/pg-large-object-store.js';
import type { FileStore } from './files/store.js';
import { ExecutionFilesRepository } from './files/repository.js';
import type { SandboxEndpoints } from './executions/runner.js';
import { CustomImagesRepository } from './images/repository.js';
import { RuntimeCatalog } from './runtimes/catalog.js';
import { createServerCounters } from './health/counters.js';
import { buildRuntimeApi } from './runtime/app.js';
import { type DriverChoice, describeChoice, driverIntent } from './sandbox/choose-driver.js';
import { createDriver } from './sandbox/create-driver.js';
import type { PoolingSandboxDriver } from './sandbox/driver.js';
import { sandboxOptionsFromConfig } from './sandbox/options.js';
import { resolveDriver } from './sandbox/probe-host.js';
import { loadOrCreateKeyFile, parseKey, SecretBox } from './secrets/crypto.js';
import { SecretsRepository } from './secrets/repository.js';
import { SettingsService } from './settings/service.js';
import { UserManagement } from './users/management.js';
import { VariablesRepository } from './variables/repository.js';

export interface RunningServer {
  url: string;
  runtimeUrl: string;
  publicApi: FastifyInstance;
  config: Config;
  /** The sandbox driver resolved at start (CRONIUM_SANDBOX_DRIVER, auto: from this host's facts). */
  driverChoice: DriverChoice;
  /** For tests and tools that look behind the API. */
  services: {
    driver: PoolingSandboxDriver;
    executions: ExecutionsRepository;
    secrets: SecretsRepository;
    variables: VariablesRepository;
    settings: SettingsService;
  };
  /** Set on the very first start when no CRONIUM_ADMIN_KEY was given: printed once, never stored in clear. */
  generatedAdminKey?: string;
  stop(): Promise<void>;
}

function fileStoreFor(config: Config, database: DatabaseDriver): FileStore {
  if (config.fileStore === 'disk') return new DiskFileStore(path.join(config.dataDir, 'files'));
  // loadConfig gives s3Store with every s3 store.
  if (config.fileStore === 's3') return new S3FileStore(config.s3Store!);
  // loadConfig allows postgres only with a PostgreSQL DATABASE_URL, whose driver has a pool.
  if (!database.pool) throw new Error('CRONIUM_ARTIFACT_STORE=postgres needs the PostgreSQL driver');
  return new PgLargeObjectFileStore(database.pool);
}

const listeningPort = (app: FastifyInstance) => (app.server.address() as AddressInfo).port;

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
    // Resolved once, here: everything after (the driver, /health) is handed this choice and never probes again.
    const probeStarted = performance.now();
    const driverChoice = await resolveDriver(driverIntent(config.sandbox));
    log.info({ sandboxDriver: driverChoice, probeMs: Math.round(performance.now() - probeStarted) }, describeChoice(driverChoice));
    const driver = createDriver(config, sandbox, driverChoice);
    await driver.ping();
    const network = await driver.ensureNetwork();
    // A network made by someone else (compose, an admin) must give the same isolation as ours.
    if (!network.internal || network.icc) {
      throw new Error(`the sandbox network ${network.name} must be internal with inter-container traffic disabled (Internal: true, com.docker.network.bridge.enable_icc=false)`);
    }
    const { gvisor } = await driver.capabilities();
    const missing = await driver.missingImages();
    if (missing.length) log.warn({ missing }, 'runtime images are missing: executions in those runtimes will fail until "npm run images" builds them');
    const runtimes = new RuntimeCatalog(config.sandbox.images, async (image) => (await driver.inspectImage(image))?.labels ?? null);
    await runtimes.refresh();

    const users = new UsersRepository(database.db);
    const executions = new ExecutionsRepository(database.db);
    const secrets = new SecretsRepository(database.db, new SecretBox(encryptionKey));
    const variables = new VariablesRepository(database.db);
    const settings = new SettingsService(database.db, config);
    const events = new ExecutionEvents();
    const counters = createServerCounters();
    const { generatedKey } = await users.bootstrapAdmin(config.adminKey);

    // Input files, stdin and artifacts (issue 26): bytes on the data directory's disk, or in PostgreSQL for servers
    // that share it (CRONIUM_ARTIFACT_STORE); metadata in the database.
    const fileStore = fileStoreFor(config, database);
    if (config.fileStore === 'disk' && database.pool) {
      log.info('executions\' files are on this server\'s disk (CRONIUM_ARTIFACT_STORE=disk): servers that share this database need CRONIUM_ARTIFACT_STORE=postgres or s3://… to read each other\'s');
    }
    if (fileStore instanceof S3FileStore) await fileStore.check();
    const executionFiles = new ExecutionFilesRepository(database.db);
    const inputs = new JobInputs(fileStore, executionFiles);
    const artifacts = new ExecutionArtifacts(
      fileStore,
      executionFiles,
      { maxFileBytes: config.sizes.maxArtifactBytes, maxTotalBytes: config.sizes.maxArtifactsBytes },
      async () => (await settings.get()).artifactRetentionDays,
    );
    const egress = new EgressRepository(database.db);
    const customImages = new CustomImagesRepository(database.db);
    // Bundles of third-party packages: resolved and downloaded on the host, anything that executes (install
    // scripts, byte-compiling) in build sandboxes of the engine's driver; mounted into sandboxes by the path the
    // Docker host knows them by (another than the server's own when it runs in a container).
    const ownMountList = await ownMounts(new Docker({ socketPath: config.dockerSocket }));
    const hostPath = (p: string) => hostPathOf(ownMountList, p);
    const { memoryMb, cpus, pids } = config.defaults.defaultLimits;
    const steps = sandboxBuildSteps(driver, { memoryMb, cpus, pids, tmpfsMb: sandbox.tmpfsMb });
    const dependencies = new DependencyService({
      ...config.dependencies,
      buildSandbox: {
        run: (step, stepLog) =>
          steps.run(
            { language: step.language, image: runtimes.list().find((r) => r.id === step.runtime)?.image, writableDir: hostPath(step.writableDir), command: step.command, timeoutMs: step.timeoutMs },
            stepLog,
          ),
      },
    });
    const packages = executionPackages({ service: dependencies, runtimes, policy: async () => (await settings.get()).packagePolicy, hostPath });
    void dependencies.checkTools().then(
      (tools) => {
        for (const [language, t] of Object.entries(tools)) if (!t.ok) log.warn({ language }, `${t.detail}: ${language} executions that ask for packages will fail`);
      },
      () => {},
    );
    const tokens = new ExecutionTokens(jwtSecret, executions);
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
      maxTmpfsMb: config.sandbox.maxTmpfsMb,
      inputs,
      artifacts,
      tokenGraceMs: config.runtime.tokenGraceMs,
      tokens,
      packages,
    });

    // Sandboxes call back at two addresses, both on the sandbox network's side: the runtime API and the egress
    // proxy. They listen before the engine starts, which is the first time a sandbox is told them.
    const runtimeApi = await buildRuntimeApi({
      tokens,
      maskers: engine.maskers,
      executions,
      variables,
      secrets,
      log,
      sizes: config.sizes,
      http: config.http,
    });
    const runtimeHost = config.runtime.host ?? network.gateway;
    if (!runtimeHost) throw new Error(`the sandbox network ${network.name} has no gateway address; set CRONIUM_RUNTIME_HOST`);
    await runtimeApi.listen({ host: runtimeHost, port: config.runtime.port });
    cleanups.push(() => runtimeApi.close());
    const rtPort = listeningPort(runtimeApi);
    const runtimeUrl = config.runtime.url ?? `http://${runtimeHost}:${rtPort}`;

    const publicApi = createPublicApi({
      log,
      http: config.http,
      bodyLimit: config.sizes.maxScriptBytes + config.sizes.maxInputBytes + 256 * 1024,
    });
    const proxy = createEgressService({
      tokens,
      egress,
      log,
      blockedPorts: config.egress.blockedPorts,
      allowCidrs: config.egress.allowCidrs,
      deniedCidrs: network.subnet ? [network.subnet] : [],
      maskers: engine.maskers,
      // The public API listens after the proxy (its port 0 becomes a real one then), before any sandbox runs.
      serverPorts: () => [publicApi.server.listening ? listeningPort(publicApi) : config.port, rtPort, config.egress.dashboardPort],
      timeouts: config.http,
      onRefused: (entry) => {
        if (entry.executionId) events.emitEgressRefused(entry.executionId, entry);
      },
    });
    const proxyListen = await proxy.listen(config.egress.port, runtimeHost);
    cleanups.push(() => proxy.close());
    cleanups.push(() => egress.flush());
    const endpoints: SandboxEndpoints = {
      runtimeUrl,
      proxyAddress: `${config.runtime.url ? new URL(config.runtime.url).hostname : runtimeHost}:${proxyListen.port}`,
    };

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

    await registerPublicApi(publicApi, {
      auth: { users },
      health: {
        nodeId: config.nodeId,
        database,
        driver,
        driverChoice,
        network,
        gvisorAvailable: gvisor,
        endpoints,
        firewall,
        engine,
        executions,
        counters,
      },
      executions: {
        executions,
        engine,
        events,
        settings,
        secrets,
        egress,
        sizes: config.sizes,
        gvisorAvailable: gvisor,
        runtimes,
        images: customImages,
        inputs,
        tmpfs: { mb: sandbox.tmpfsMb, maxMb: config.sandbox.maxTmpfsMb },
      },
      users: { users, manage: new UserManagement({ db: database.db, engine, events, log }) },
      settings: { settings, engine, gvisorAvailable: gvisor },
      secrets: { secrets, maxSecretBytes: config.sizes.maxSecretBytes },
      variables: { variables, maxVariableBytes: config.sizes.maxVariableBytes },
      egress: { egress, users },
      runtimes: { runtimes, images: customImages },
      images: { images: customImages, driver, tmpfsMb: sandbox.tmpfsMb },
      dependencies: { bundles: dependencies },
      artifacts: { executions, artifacts },
    });
    cleanups.push(startArtifactCleanup({ artifacts, log, everyMs: config.artifacts.cleanupMs }));
    await publicApi.listen({ host: config.host, port: config.port });
    cleanups.push(() => publicApi.close());
    const port = listeningPort(publicApi);
    // Runs after the engine has stopped (cleanups run in reverse).
    cleanups.push(() => driver.close());
    engine.start(endpoints);
    cleanups.push(() => engine.stop());
    if (missing.length === 0) driver.pool.start();
    cleanups.push(() => driver.pool.drain());

    let stopping: Promise<void> | null = null;
    return {
      url: `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`,
      runtimeUrl,
      publicApi,
      config,
      driverChoice,
      services: { driver, executions, secrets, variables, settings },
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
