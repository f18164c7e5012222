import { and, asc, eq, inArray } from 'drizzle-orm';
import type { Db } from '../db/driver.js';
import { secrets } from '../db/schema.js';
import type { SecretBox } from './crypto.js';

export interface SecretInfo {
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

export class SecretsRepository {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
  ) {}

  /** The user and name are bound into the ciphertext, so a value copied to another row does not decrypt. */
  private aad(userId: string, name: string) {
    return `${userId}/${name}`;
  }

  async list(userId: string): Promise<SecretInfo[]> {
    return this.db
      .select({ name: secrets.name, createdAt: secrets.createdAt, updatedAt: secrets.updatedAt })
      .from(secrets)
      .where(eq(secrets.userId, userId))
      .orderBy(asc(secrets.name));
  }

  async put(userId: string, name: string, value: string): Promise<{ created: boolean; info: SecretInfo }> {
    const ciphertext = this.box.seal(value, this.aad(userId, name));
    const existing = await this.db
      .select({ name: secrets.name })
      .from(secrets)
      .where(and(eq(secrets.userId, userId), eq(secrets.name, name)));
    const now = new Date();
    const [row] = await this.db
      .insert(secrets)
      .values({ userId, name, ciphertext, createdAt: now, updatedAt: now })
      .onConflictDoUpdate({ target: [secrets.userId, secrets.name], set: { ciphertext, updatedAt: now } })
      .returning({ name: secrets.name, createdAt: secrets.createdAt, updatedAt: secrets.updatedAt });
    return { created: existing.length === 0, info: row! };
  }

  async delete(userId: string, name: string): Promise<boolean> {
    const rows = await this.db
      .delete(secrets)
      .where(and(eq(secrets.userId, userId), eq(secrets.name, name)))
      .returning({ name: secrets.name });
    return rows.length > 0;
  }

  async existing(userId: string, names: string[]): Promise<Set<string>> {
    if (!names.length) return new Set();
    const rows = await this.db
      .select({ name: secrets.name })
      .from(secrets)
      .where(and(eq(secrets.userId, userId), inArray(secrets.name, names)));
    return new Set(rows.map((r) => r.name));
  }

  async reveal(userId: string, names: string[]): Promise<Map<string, string>> {
    if (!names.length) return new Map();
    const rows = await this.db
      .select()
      .from(secrets)
      .where(and(eq(secrets.userId, userId), inArray(secrets.name, names)));
    return new Map(rows.map((r) => [r.name, this.box.open(r.ciphertext, this.aad(userId, r.name))]));
  }
}
