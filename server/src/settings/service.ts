import { eq } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { Db } from '../db/driver.js';
import { settings as settingsTable } from '../db/schema.js';
import { DEFAULT_PACKAGE_POLICY } from '../dependencies/policy.js';
import { DERIVED_KEYS, resolveDerived } from './derived.js';
import type { Settings, SettingsPatch } from './schemas.js';

/**
 * What the settings row holds: every setting as last saved, except that the derived per-user limits are there only
 * when set explicitly (otherwise they follow maxConcurrency and maxQueue).
 */
type Stored = Partial<Omit<Settings, 'defaultLimits' | 'maxLimits'>> & { defaultLimits?: Partial<Settings['defaultLimits']>; maxLimits?: Partial<Settings['maxLimits']> };

const KEY = 'settings';
const CACHE_MS = 2000;

/** Admin-editable settings: configuration gives the initial values, the database row overrides them. */
export class SettingsService {
  private cached: { value: Settings; stored: Stored; at: number } | null = null;

  constructor(
    private readonly db: Db,
    private readonly config: Config,
  ) {}

  private merge(stored: Stored): Settings {
    const base = { ...this.config.defaults, allowExecutionEgressRules: true, packagePolicy: DEFAULT_PACKAGE_POLICY, artifactRetentionDays: 7 };
    return resolveDerived({
      ...base,
      ...stored,
      defaultLimits: { ...base.defaultLimits, ...(stored.defaultLimits ?? {}) },
      maxLimits: { ...base.maxLimits, ...(stored.maxLimits ?? {}) },
    });
  }

  private async load(): Promise<{ value: Settings; stored: Stored }> {
    if (this.cached && Date.now() - this.cached.at < CACHE_MS) return this.cached;
    const [row] = await this.db.select().from(settingsTable).where(eq(settingsTable.key, KEY));
    const stored = (row?.value ?? {}) as Stored;
    this.cached = { value: this.merge(stored), stored, at: Date.now() };
    return this.cached;
  }

  async get(): Promise<Settings> {
    return (await this.load()).value;
  }

  /** Returns the merged settings, or a list of problems (field, message) when the result is inconsistent. */
  async update(patch: SettingsPatch): Promise<Settings | { field: string; message: string }> {
    const { value: current, stored } = await this.load();
    // Everything is saved as it now stands, as before; a derived limit only while it is set explicitly.
    const { maxConcurrencyPerUser: _c, maxQueuedPerUser: _q, ...rest } = { ...current, ...patch };
    const saved: Stored = {
      ...rest,
      defaultLimits: { ...current.defaultLimits, ...(patch.defaultLimits ?? {}) },
      maxLimits: { ...current.maxLimits, ...(patch.maxLimits ?? {}) },
    };
    for (const k of DERIVED_KEYS) {
      const v = patch[k] === undefined ? stored[k] : patch[k];
      if (v !== null && v !== undefined) saved[k] = v;
    }
    const next = this.merge(saved);
    for (const k of ['timeoutMs', 'memoryMb', 'cpus', 'pids'] as const) {
      if (next.defaultLimits[k] > next.maxLimits[k]) {
        return { field: `defaultLimits.${k}`, message: `must not exceed maxLimits.${k} (${next.maxLimits[k]})` };
      }
    }
    if (next.maxQueuedPerUser > next.maxQueue) {
      return { field: 'maxQueuedPerUser', message: `must not exceed maxQueue (${next.maxQueue})` };
    }
    await this.db
      .insert(settingsTable)
      .values({ key: KEY, value: saved })
      .onConflictDoUpdate({ target: settingsTable.key, set: { value: saved, updatedAt: new Date() } });
    this.cached = { value: next, stored: saved, at: Date.now() };
    return next;
  }
}
