import { z } from 'zod';
import type { Language } from '../api/enums.js';
import { BUILTIN_RUNTIMES, builtinImage, DEFAULT_RUNTIMES } from './builtin.js';

/** One package of an image, as cronium-contents reports it (runtime-images/base/cronium-contents). */
export const contentItemSchema = z.object({ name: z.string(), version: z.string(), source: z.enum(['debian', 'python', 'npm']) });
export type ContentItem = z.infer<typeof contentItemSchema>;

/** cronium-contents' answer: the label io.cronium.contents of every runtime image build.sh makes. */
export const contentsLabelSchema = z.object({ language: z.string(), version: z.string(), contents: z.array(contentItemSchema) });
export type ContentsLabel = z.infer<typeof contentsLabelSchema>;

export const LABEL_CONTENTS = 'io.cronium.contents';

/** A runtime as GET /api/v1/runtimes lists it and an execution is run in. */
export interface RuntimeEntry {
  id: string;
  language: Language;
  /** The interpreter's exact version (from the image), or the line when the image does not say. */
  version: string;
  image: string;
  default: boolean;
  contents: ContentItem[];
}

/** What an image says about itself: its labels (null when the engine does not have it). */
export type ImageLabels = (image: string) => Promise<Record<string, string> | null>;

/** The contents label of an image, or null when it has none or one that does not parse. */
export function parseContentsLabel(labels: Record<string, string> | null): ContentsLabel | null {
  const text = labels?.[LABEL_CONTENTS];
  if (!text) return null;
  try {
    const parsed = contentsLabelSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

export type RuntimeChoice = { ok: true; runtime: RuntimeEntry } | { ok: false; field: 'runtime'; message: string };

/**
 * The built-in runtimes with what their images report; read from the Docker engine at start and again by
 * refresh() (an image rebuilt while the server runs), so nothing here can drift from the images.
 */
export class RuntimeCatalog {
  private entries: RuntimeEntry[];

  constructor(
    private readonly defaultImages: Readonly<Record<Language, string>>,
    private readonly labelsOf: ImageLabels,
  ) {
    this.entries = BUILTIN_RUNTIMES.map((r) => ({
      id: r.id,
      language: r.language,
      version: r.line,
      image: builtinImage(r, defaultImages),
      default: DEFAULT_RUNTIMES[r.language] === r.id,
      contents: [],
    }));
  }

  /** Every built-in runtime's image, whether built or not (what "npm run images" must build). */
  images(): string[] {
    return [...new Set(this.entries.map((e) => e.image))];
  }

  async refresh(): Promise<void> {
    this.entries = await Promise.all(
      this.entries.map(async (e) => {
        const line = BUILTIN_RUNTIMES.find((r) => r.id === e.id)!.line;
        const probe = parseContentsLabel(await this.labelsOf(e.image).catch(() => null));
        return { ...e, version: probe?.version ?? line, contents: probe?.contents ?? [] };
      }),
    );
  }

  list(): RuntimeEntry[] {
    return this.entries.map((e) => ({ ...e, contents: [...e.contents] }));
  }

  /** The runtime a request runs in: the one it names (which must be of its language), else its language's default. */
  choose(language: Language, runtime: string | undefined): RuntimeChoice {
    return chooseRuntime(this.entries, language, runtime);
  }
}

/** Pure: see RuntimeCatalog.choose. */
export function chooseRuntime(entries: readonly RuntimeEntry[], language: Language, runtime: string | undefined): RuntimeChoice {
  if (runtime === undefined) {
    const d = entries.find((e) => e.language === language && e.default);
    if (d) return { ok: true, runtime: d };
    return { ok: false, field: 'runtime', message: `runtime: no default runtime for ${language}` };
  }
  const found = entries.find((e) => e.id === runtime);
  if (!found) {
    const offered = entries.map((e) => e.id).join(', ');
    return { ok: false, field: 'runtime', message: `runtime: unknown runtime "${runtime}"; this server offers ${offered}` };
  }
  if (found.language !== language) {
    const same = entries.filter((e) => e.language === language).map((e) => e.id).join(', ');
    return { ok: false, field: 'runtime', message: `runtime: ${runtime} is a ${found.language} runtime, but language is "${language}" (${language}: ${same})` };
  }
  return { ok: true, runtime: found };
}
