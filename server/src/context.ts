import type { FastifyBaseLogger } from 'fastify';
import type { UsersRepository } from './auth/users-repository.js';
import type { Config } from './config.js';
import type { DatabaseDriver } from './db/driver.js';
import type { SandboxFirewall } from './egress/firewall.js';
import type { EgressRepository } from './egress/repository.js';
import type { ExecutionEngine } from './executions/engine.js';
import type { ExecutionEvents } from './executions/events.js';
import type { ExecutionsRepository } from './executions/repository.js';
import type { ServerCounters } from './health/counters.js';
import type { PoolingSandboxDriver, SandboxNetworkInfo } from './sandbox/driver.js';
import type { SecretsRepository } from './secrets/repository.js';
import type { SettingsService } from './settings/service.js';
import type { VariablesRepository } from './variables/repository.js';

/** Everything the HTTP layers need, built once at start and passed down: no module-level state. */
export interface AppContext {
  config: Config;
  log: FastifyBaseLogger;
  database: DatabaseDriver;
  users: UsersRepository;
  executions: ExecutionsRepository;
  secrets: SecretsRepository;
  variables: VariablesRepository;
  settings: SettingsService;
  events: ExecutionEvents;
  engine: ExecutionEngine;
  driver: PoolingSandboxDriver;
  network: SandboxNetworkInfo;
  gvisorAvailable: boolean;
  runtimeUrl: () => string;
  egress: EgressRepository;
  egressProxyUrl: () => string;
  firewall: SandboxFirewall;
  counters: ServerCounters;
}
