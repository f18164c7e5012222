// Waits for a server child process to print "listening on http://…" (the API server and the dashboard both do),
// collecting its output meanwhile. Shared by the test helpers, the dashboard tests and the benchmark.

/**
 * @param {import('node:child_process').ChildProcess} proc started with stdout and stderr piped
 * @param {string} what the name used in errors ("server", "web server")
 * @param {number} timeoutMs
 * @returns {Promise<{ url: string, output: () => string }>}
 */
export function waitForListening(proc, what, timeoutMs) {
  let out = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start in ${timeoutMs / 1000} s:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], output: () => out });
      }
    };
    proc.stdout.on('data', check);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code}:\n${out}`));
    });
  });
}
