import crypto from 'node:crypto';
import { and, asc, eq, isNull } from 'drizzle-orm';
import type { Role } from '../api/enums.js';
import type { Db } from '../db/driver.js';
import { apiKeys, users } from '../db/schema.js';
import { AppError, notFound } from '../errors.js';
import { generateApiKey, hashApiKey, keyPrefix } from './keys.js';

export type { Role };
export interface User {
  id: string;
  name: string;
  role: Role;
  /** A disabled user's keys are refused (403 USER_DISABLED) until an admin enables the user again. */
  disabled: boolean;
  createdAt: Date;
}

/** The API's view of a users row (a deleted user is never shown as one). */
export function toUser(row: typeof users.$inferSelect): User {
  return { id: row.id, name: row.name, role: row.role, disabled: row.disabledAt !== null, createdAt: row.createdAt };
}

/** Users that are not deleted. */
export const live = isNull(users.deletedAt);

/** How stale an API key's last-used time may be. */
export const LAST_USED_RESOLUTION_MS = 60_000;

export class UsersRepository {
  constructor(private readonly db: Db) {}

  async findByKey(key: string): Promise<User | null> {
    const rows = await this.db
      .select({ user: users, keyId: apiKeys.id, lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .innerJoin(users, eq(users.id, apiKeys.userId))
      .where(and(eq(apiKeys.hash, hashApiKey(key)), isNull(apiKeys.revokedAt), live))
      .limit(1);
    const row = rows[0];
    if (!row) return null;
    // Recorded to the minute: a write on every request was one of the few queries each execution costs.
    const now = new Date();
    if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() >= LAST_USED_RESOLUTION_MS) {
      await this.db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, row.keyId));
    }
    return toUser(row.user);
  }

  async get(id: string): Promise<User> {
    const [row] = await this.db.select().from(users).where(and(eq(users.id, id), live));
    if (!row) throw notFound(`user ${id}`);
    return toUser(row);
  }

  async list(): Promise<User[]> {
    return (await this.db.select().from(users).where(live).orderBy(asc(users.createdAt))).map(toUser);
  }

  async create(name: string, role: Role): Promise<User> {
    const existing = await this.db.select({ id: users.id }).from(users).where(and(eq(users.name, name), live));
    if (existing.length) throw new AppError('CONFLICT', 409, `a user named "${name}" already exists`, 'name');
    const [row] = await this.db.insert(users).values({ id: crypto.randomUUID(), name, role }).returning();
    return toUser(row!);
  }

  async issueKey(userId: string, name: string, key = generateApiKey()): Promise<{ id: string; key: string; prefix: string }> {
    await this.get(userId);
    const id = crypto.randomUUID();
    await this.db.insert(apiKeys).values({ id, userId, name, prefix: keyPrefix(key), hash: hashApiKey(key) });
    return { id, key, prefix: keyPrefix(key) };
  }

  async listKeys(userId?: string) {
    const q = this.db
      .select({
        id: apiKeys.id,
        userId: apiKeys.userId,
        name: apiKeys.name,
        prefix: apiKeys.prefix,
        createdAt: apiKeys.createdAt,
        lastUsedAt: apiKeys.lastUsedAt,
        revokedAt: apiKeys.revokedAt,
      })
      .from(apiKeys);
    return userId ? q.where(eq(apiKeys.userId, userId)).orderBy(asc(apiKeys.createdAt)) : q.orderBy(asc(apiKeys.createdAt));
  }

  async revokeKey(id: string): Promise<void> {
    const rows = await this.db
      .update(apiKeys)
      .set({ revokedAt: new Date() })
      .where(and(eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
      .returning({ id: apiKeys.id });
    if (!rows.length) throw notFound(`active API key ${id}`);
  }

  /**
   * Makes sure an admin exists. With CRONIUM_ADMIN_KEY the admin's key is that value (added if new);
   * without it, a key is generated on the very first start only and returned to be printed once.
   */
  async bootstrapAdmin(adminKey?: string): Promise<{ generatedKey?: string }> {
    let [admin] = await this.db.select().from(users).where(and(eq(users.role, 'admin'), live)).orderBy(asc(users.createdAt)).limit(1);
    const firstStart = !admin;
    if (!admin) {
      [admin] = await this.db
        .insert(users)
        .values({ id: crypto.randomUUID(), name: 'admin', role: 'admin' })
        .onConflictDoNothing()
        .returning();
      if (!admin) [admin] = await this.db.select().from(users).where(and(eq(users.name, 'admin'), live));
    }
    if (!admin) throw new Error('could not create the admin user');
    if (adminKey) {
      const known = await this.db.select({ id: apiKeys.id }).from(apiKeys).where(eq(apiKeys.hash, hashApiKey(adminKey)));
      if (!known.length) await this.issueKey(admin.id, 'CRONIUM_ADMIN_KEY', adminKey);
      return {};
    }
    if (firstStart) {
      const { key } = await this.issueKey(admin.id, 'initial admin key');
      return { generatedKey: key };
    }
    return {};
  }
}
