import { eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Db } from '../db/driver.js';
import { settings as settingsTable } from '../db/schema.js';

const limits = z.object({
  timeoutMs: z.number().int().min(100),
  memoryMb: z.number().int().min(16),
  cpus: z.number().positive().max(64),
  pids: z.number().int().min(8),
});

export const settingsSchema = z.object({
  executionPolicy: z.enum(['disabled', 'admin_only', 'all_users']),
  defaultIsolation: z.enum(['standard', 'gvisor']),
  allowIsolationChoice: z.boolean(),
  allowExecutionEgressRules: z.boolean(),
  maxConcurrency: z.number().int().min(1).max(1000),
  maxConcurrencyPerUser: z.number().int().min(1).max(1000),
  maxQueue: z.number().int().min(1),
  defaultLimits: limits,
  maxLimits: limits,
});
export type Settings = z.infer<typeof settingsSchema>;
export const settingsPatchSchema = settingsSchema
  .extend({ defaultLimits: limits.partial(), maxLimits: limits.partial() })
  .partial()
  .strict();

const KEY = 'settings';
const CACHE_MS = 2000;

/** Admin-editable settings: configuration gives the initial values, the database row overrides them. */
export class SettingsService {
  private cached: { value: Settings; at: number } | null = null;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
  ) {}

  private base(): Settings {
    return { ...this.config.defaults, allowExecutionEgressRules: true };
  }

  async get(): Promise<Settings> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached.value;
    const [row] = await this.db.select().from(settingsTable).where(eq(settingsTable.key, KEY));
    const base = this.base();
    const stored = (row?.value ?? {}) as Partial<Settings>;
    const value: Settings = {
      ...base,
      ...stored,
      defaultLimits: { ...base.defaultLimits, ...(stored.defaultLimits ?? {}) },
      maxLimits: { ...base.maxLimits, ...(stored.maxLimits ?? {}) },
    };
    this.cached = { value, at: Date.now() };
    return value;
  }

  /** Returns the merged settings, or a list of problems (field, message) when the result is inconsistent. */
  async update(patch: z.infer<typeof settingsPatchSchema>): Promise<Settings | { field: string; message: string }> {
    const current = await this.get();
    const next: Settings = {
      ...current,
      ...patch,
      defaultLimits: { ...current.defaultLimits, ...(patch.defaultLimits ?? {}) },
      maxLimits: { ...current.maxLimits, ...(patch.maxLimits ?? {}) },
    };
    for (const k of ['timeoutMs', 'memoryMb', 'cpus', 'pids'] as const) {
      if (next.defaultLimits[k] > next.maxLimits[k]) {
        return { field: `defaultLimits.${k}`, message: `must not exceed maxLimits.${k} (${next.maxLimits[k]})` };
      }
    }
    await this.db
      .insert(settingsTable)
      .values({ key: KEY, value: next })
      .onConflictDoUpdate({ target: settingsTable.key, set: { value: next, updatedAt: new Date() } });
    this.cached = { value: next, at: Date.now() };
    return next;
  }
}
