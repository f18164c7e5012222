import { z } from 'zod';

/** A time as the API writes it: `Date.toISOString()`. */
export const isoDateTime = z.iso.datetime();

/** Every error the API answers with: the code says what happened, field names the offending field. */
export const errorBodySchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), field: z.string().optional() }),
});
export type ApiErrorBody = z.infer<typeof errorBodySchema>['error'];

/** The answer of a route that lists things: `{ items }`. */
export const itemsOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item) });
