import { eq } from 'drizzle-orm';
import type { Db } from '../db/driver.js';
import { customImages } from '../db/schema.js';

export type CustomImageRow = typeof customImages.$inferSelect;

export class CustomImagesRepository {
  constructor(private readonly db: Db) {}

  async list(): Promise<CustomImageRow[]> {
    return this.db.select().from(customImages).orderBy(customImages.name);
  }

  async get(name: string): Promise<CustomImageRow | null> {
    const [row] = await this.db.select().from(customImages).where(eq(customImages.name, name));
    return row ?? null;
  }

  /** False when the name is taken. */
  async create(row: typeof customImages.$inferInsert): Promise<CustomImageRow | null> {
    const [made] = await this.db.insert(customImages).values(row).onConflictDoNothing().returning();
    return made ?? null;
  }

  async delete(name: string): Promise<boolean> {
    const gone = await this.db.delete(customImages).where(eq(customImages.name, name)).returning();
    return gone.length > 0;
  }
}
