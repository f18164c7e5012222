import { and, asc, count, eq, isNull } from 'drizzle-orm';
import type { FastifyBaseLogger } from 'fastify';
import { live, type Role, toUser, type User } from '../auth/users-repository.js';
import type { Db } from '../db/driver.js';
import { apiKeys, egressRules, executions, secrets, users, variables } from '../db/schema.js';
import { AppError, notFound } from '../errors.js';
import type { ExecutionEngine } from '../executions/engine.js';
import type { ExecutionEvents } from '../executions/events.js';
import { removesLastAdmin, type UserChange } from './last-admin.js';

export interface UserManagementDeps {
  db: Db;
  engine: ExecutionEngine;
  events: ExecutionEvents;
  log: FastifyBaseLogger;
  /** How long a delete waits for the user's running executions to end before sweeping their variables again. */
  settleMs?: number;
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

const lastAdmin = () =>
  new AppError('LAST_ADMIN', 409, 'this is the last enabled admin: make another user an admin first');

/**
 * What admins do to users: disable and enable, change the role, delete. Each change runs in a transaction that
 * first locks every enabled admin's row (in id order, so two changes never deadlock) and then the target's, so two
 * admins demoting each other at once cannot leave the server without one.
 */
export class UserManagement {
  constructor(private readonly deps: UserManagementDeps) {}

  async update(id: string, change: { disabled?: boolean; role?: Role }): Promise<User> {
    const { user, newlyDisabled } = await this.deps.db.transaction(async (tx) => {
      const { target, enabledAdmins } = await this.lock(tx, id);
      if (removesLastAdmin(toUser(target), enabledAdmins, { kind: 'update', ...change })) throw lastAdmin();
      const set: Partial<typeof users.$inferInsert> = {};
      if (change.role !== undefined && change.role !== target.role) set.role = change.role;
      if (change.disabled === true && !target.disabledAt) set.disabledAt = new Date();
      if (change.disabled === false && target.disabledAt) set.disabledAt = null;
      if (!Object.keys(set).length) return { user: toUser(target), newlyDisabled: false };
      const [row] = await tx.update(users).set(set).where(eq(users.id, id)).returning();
      return { user: toUser(row!), newlyDisabled: set.disabledAt instanceof Date };
    });
    if (newlyDisabled) await this.cancelExecutionsOf(id, 'disabled');
    return user;
  }

  /**
   * The user's row stays, marked deleted, so their executions stay attributed to them; their keys are revoked and
   * their secrets, variables and own egress rules deleted, in one transaction. Then their queued and running
   * executions are cancelled, and once those have ended the variables are swept once more (a running script
   * may have written one in between).
   */
  async delete(id: string): Promise<void> {
    await this.deps.db.transaction(async (tx) => {
      const { target, enabledAdmins } = await this.lock(tx, id);
      if (removesLastAdmin(toUser(target), enabledAdmins, { kind: 'delete' } satisfies UserChange)) throw lastAdmin();
      const now = new Date();
      await tx.update(users).set({ deletedAt: now }).where(eq(users.id, id));
      await tx.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.userId, id), isNull(apiKeys.revokedAt)));
      await tx.delete(secrets).where(eq(secrets.userId, id));
      await tx.delete(variables).where(eq(variables.userId, id));
      await tx.delete(egressRules).where(and(eq(egressRules.scope, 'user'), eq(egressRules.userId, id)));
    });
    if (await this.cancelExecutionsOf(id, 'deleted')) {
      await this.settle(id);
      await this.deps.db.delete(variables).where(eq(variables.userId, id));
    }
  }

  private async lock(tx: Tx, id: string) {
    const admins = await tx
      .select({ id: users.id })
      .from(users)
      .where(and(eq(users.role, 'admin'), isNull(users.disabledAt), live))
      .orderBy(asc(users.id))
      .for('update');
    const [target] = await tx.select().from(users).where(and(eq(users.id, id), live)).for('update');
    if (!target) throw notFound(`user ${id}`);
    return { target, enabledAdmins: admins.map((a) => a.id) };
  }

  /** Cancels the user's queued and running executions; returns how many were running. */
  private async cancelExecutionsOf(userId: string, why: 'disabled' | 'deleted'): Promise<number> {
    const queued = await this.deps.db
      .update(executions)
      .set({ status: 'cancelled', finishedAt: new Date(), cancelRequested: true, error: `cancelled before it started: its user was ${why}` })
      .where(and(eq(executions.userId, userId), eq(executions.status, 'queued')))
      .returning({ id: executions.id });
    for (const { id } of queued) this.deps.events.emitStatus(id, 'cancelled');
    const running = await this.deps.db
      .select({ id: executions.id })
      .from(executions)
      .where(and(eq(executions.userId, userId), eq(executions.status, 'running')));
    await Promise.all(running.map(({ id }) => this.deps.engine.cancel(id)));
    if (queued.length || running.length) this.deps.log.info({ userId, why, queued: queued.length, running: running.length }, 'cancelled the executions of a user');
    return running.length;
  }

  /** Waits (bounded) until the user has no running execution: a cancel elsewhere takes a second or two. */
  private async settle(userId: string): Promise<void> {
    const end = Date.now() + (this.deps.settleMs ?? 15_000);
    while (Date.now() < end) {
      const [r] = await this.deps.db
        .select({ n: count() })
        .from(executions)
        .where(and(eq(executions.userId, userId), eq(executions.status, 'running')));
      if (!Number(r?.n ?? 0)) return;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    this.deps.log.warn({ userId }, 'a deleted user still has running executions; their variables were swept anyway');
  }
}
