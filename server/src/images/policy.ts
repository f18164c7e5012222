import type { Language } from '../api/enums.js';
import type { ImageFacts } from '../sandbox/host/images.js';

export const LAUNCHER = '/usr/local/bin/cronium-launch';
const SANDBOX_USER = /^10001(:10001)?$/;

/**
 * What an image must say about itself to be run as a sandbox, before anything of it runs: the launcher as its
 * entrypoint (PID 1, the job protocol) and the unprivileged sandbox user. The server runs every sandbox as
 * 10001:10001 whatever the image says; an image declaring another user was built for another user, and its
 * files (a virtualenv, a home directory) would not be the sandbox's. Pure: table-tested.
 */
export function imageConfigProblem(facts: ImageFacts): string | null {
  if (facts.entrypoint.length !== 1 || facts.entrypoint[0] !== LAUNCHER) {
    return `its entrypoint is ${JSON.stringify(facts.entrypoint)}, not ["${LAUNCHER}"]: build it FROM a cronium/runtime-* image and keep its ENTRYPOINT`;
  }
  if (!SANDBOX_USER.test(facts.user)) {
    return `it runs as user "${facts.user || 'root'}", not 10001:10001: end its Dockerfile with USER 10001:10001`;
  }
  return null;
}

/**
 * The script of the check's test sandbox (run as bash, in the image, hardened like any sandbox): the language's
 * interpreter is there and imports the SDK, then cronium-contents reports what the image holds.
 */
export function checkScript(language: Language): string {
  const probe = {
    bash: 'command -v cronium >/dev/null || { echo "the bash SDK (cronium) is not on PATH" >&2; exit 3; }',
    python: 'python3 -c "import cronium" || { echo "python3 cannot import the Python SDK (cronium)" >&2; exit 3; }',
    node: 'node -e "require(\'cronium\')" || { echo "node cannot resolve the Node SDK (cronium)" >&2; exit 3; }',
  }[language];
  return [
    'set -euo pipefail',
    `command -v ${language === 'python' ? 'python3' : language} >/dev/null || { echo "${language === 'python' ? 'python3' : language} is not installed" >&2; exit 3; }`,
    probe,
    `[[ -x /usr/local/lib/cronium/contents || -r /usr/local/lib/cronium/contents ]] || { echo "/usr/local/lib/cronium/contents is missing: build it FROM a cronium/runtime-* image" >&2; exit 3; }`,
    `bash /usr/local/lib/cronium/contents ${language}`,
    '',
  ].join('\n');
}
