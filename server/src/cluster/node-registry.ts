import os from 'node:os';
import { and, eq, lt, ne } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../db/driver.js';
import { nodes } from '../db/schema.js';
import type { ExecutionEvents } from '../executions/events.js';
import type { ExecutionsRepository } from '../executions/repository.js';
import { LABEL_NODE, type SandboxDriver } from '../sandbox/driver.js';

export interface NodeRegistryOptions {
  nodeId: string;
  db: Db;
  executions: ExecutionsRepository;
  driver: SandboxDriver;
  events: ExecutionEvents;
  log: FastifyBaseLogger;
  heartbeatMs?: number;
  staleAfterMs?: number;
}

/**
 * Keeps this server's heartbeat in the database and cleans up after servers that died: their running executions
 * are reported as interrupted (never left "running") and their containers on this Docker host are removed.
 */
export class NodeRegistry {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: NodeRegistryOptions) {}

  private get staleMs() {
    return this.o.staleAfterMs ?? 30_000;
  }

  async start(): Promise<void> {
    const { db, nodeId } = this.o;
    // This id ran before and is starting again: whatever it was running died with it.
    const interrupted = await this.o.executions.failRunningOf(
      [nodeId],
      `the server (${nodeId}) restarted while this execution was running; it was stopped and not retried`,
    );
    for (const id of interrupted) this.o.events.emitStatus(id, 'error');
    const removed = await this.o.driver.removeContainers((labels) => labels[LABEL_NODE] === nodeId);
    if (interrupted.length || removed) this.o.log.warn({ interrupted: interrupted.length, removedContainers: removed }, 'recovered from an unclean stop');
    const now = new Date();
    await db
      .insert(nodes)
      .values({ id: nodeId, hostname: os.hostname(), startedAt: now, heartbeatAt: now })
      .onConflictDoUpdate({ target: nodes.id, set: { hostname: os.hostname(), startedAt: now, heartbeatAt: now } });
    await this.sweep();
    this.timer = setInterval(() => void this.beat(), this.o.heartbeatMs ?? 5000);
  }

  private async beat() {
    try {
      await this.o.db.update(nodes).set({ heartbeatAt: new Date() }).where(eq(nodes.id, this.o.nodeId));
      await this.sweep();
    } catch (err) {
      this.o.log.warn({ err }, 'heartbeat failed');
    }
  }

  /** Reports the executions of silent servers and removes their containers from this Docker host. */
  async sweep(): Promise<void> {
    const stale = await this.o.db
      .select({ id: nodes.id })
      .from(nodes)
      .where(and(ne(nodes.id, this.o.nodeId), lt(nodes.heartbeatAt, new Date(Date.now() - this.staleMs))));
    if (!stale.length) return;
    const ids = stale.map((s) => s.id);
    const failed = await this.o.executions.failRunningOf(ids, 'the server running this execution stopped responding; it was not retried');
    for (const id of failed) this.o.events.emitStatus(id, 'error');
    const staleSet = new Set(ids);
    await this.o.driver.removeContainers((labels) => staleSet.has(labels[LABEL_NODE] ?? ''));
    await this.o.db.delete(nodes).where(and(ne(nodes.id, this.o.nodeId), lt(nodes.heartbeatAt, new Date(Date.now() - 10 * this.staleMs))));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
