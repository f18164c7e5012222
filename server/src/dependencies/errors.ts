/**
 * Why a dependency set could not be made into a bundle. The message is one sentence for the execution's log and
 * error reason: it names the package and why, never a tool's traceback.
 */
export type DependencyErrorCode =
  | 'PACKAGE_NOT_FOUND'
  | 'NO_MATCHING_VERSION'
  | 'NO_WHEEL'
  | 'POLICY_REFUSED'
  | 'INDEX_UNREACHABLE'
  | 'INSTALL_SCRIPT_FAILED'
  | 'BUNDLE_TOO_LARGE'
  | 'RESOLUTION_FAILED'
  | 'TOOL_MISSING'
  | 'CANCELLED'
  | 'BUNDLE_IN_USE'
  | 'BUNDLE_NOT_FOUND';

export class DependencyError extends Error {
  constructor(
    readonly code: DependencyErrorCode,
    message: string,
    readonly pkg?: string,
  ) {
    super(message);
    this.name = 'DependencyError';
  }

  toJSON(): { code: DependencyErrorCode; message: string; package?: string } {
    return { code: this.code, message: this.message, ...(this.pkg ? { package: this.pkg } : {}) };
  }
}
