/** The languages that take third-party packages (bash has no package manager in its image). */
export const PACKAGE_LANGUAGES = ['python', 'node'] as const;
export type PackageLanguage = (typeof PACKAGE_LANGUAGES)[number];

/** One requested package: its canonical name (policy checks) and the exact spec handed to pip or npm. */
export interface RequestedPackage {
  /** Python: PEP 503 normalised (`typing-extensions`); node: the npm name as published (`@scope/name`). */
  name: string;
  /** Python: `name[extras]<specifiers>` without spaces, specifiers sorted; node: `name@range-or-tag`. */
  spec: string;
}

/** What an execution asked for, normalised so that equal requests give equal keys (sorted by name, one entry per name). */
export interface DependencySet {
  language: PackageLanguage;
  packages: RequestedPackage[];
}

/** One package of a fully resolved set, as the lock records it. */
export interface LockedPackage {
  name: string;
  version: string;
  /** Python: `sha256:<hex>` of the wheel; node: the lockfile's `integrity` (`sha512-…`). */
  hash: string;
  /** Python: the wheel's file name; node: the package's path in node_modules. */
  source: string;
}

/** Where and for what a bundle is built: the runtime an execution will import it from. */
export interface RuntimeTarget {
  /** e.g. `python@3.11`, `node@24`. */
  id: string;
  /** Python `X.Y`, node major (`24`). */
  version: string;
  /** Python: the image's manylinux tag (`manylinux_2_36_x86_64`); node: `linux-x64`. */
  platform: string;
}

export interface ValidationIssue {
  path: (string | number)[];
  message: string;
}
