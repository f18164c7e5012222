'use strict';
// Makes fetch() honour HTTP_PROXY/HTTPS_PROXY/NO_PROXY, as curl and Python do: Node's own fetch ignores
// them. Without this a script's fetch() would simply get no connection, since the sandbox has no route out
// but the egress proxy. Node's http/https modules still ignore the variables (use fetch, or an agent).
// undici is loaded on the first fetch() only: loading it costs a few hundred ms that most scripts never need.
//
// undici tunnels every proxied request with CONNECT and, when the proxy refuses the tunnel, drops the
// answer and fails with "fetch failed" (its cause: "Request was cancelled"). The egress proxy says why in
// its answer (403 and X-Cronium-Egress-Reason), so the tunnel's answer is read here and the reason put in
// the error the script gets: "fetch failed: egress refused api.example.com:443: no_matching_rule — …".
if ((process.env.HTTPS_PROXY || process.env.HTTP_PROXY || process.env.https_proxy || process.env.http_proxy) && typeof globalThis.fetch === 'function') {
  const nativeFetch = globalThis.fetch;
  const REFUSED = 'CRONIUM_EGRESS_REFUSED';
  const ADVICE = {
    no_matching_rule: 'allow it in Egress',
    port_not_allowed: 'a rule allows this host on other ports only: add this port in Egress',
    blocked_port: 'this port is refused whatever the rules say',
    ip_literal_not_allowed: 'use the host name, or add a rule naming this address in Egress',
  };

  /** The error for a tunnel the proxy did not open; `target` is the CONNECT target, host:port. */
  const tunnelError = (target, status, headers) => {
    const reason = typeof headers['x-cronium-egress-reason'] === 'string' ? headers['x-cronium-egress-reason'] : null;
    let message;
    if (!reason) message = `the proxy answered ${status} to CONNECT ${target}`;
    else if (status === 403) message = `egress refused ${target}: ${reason}${ADVICE[reason] ? ` — ${ADVICE[reason]}` : ''}`;
    else if (status === 502 || status === 504) message = `egress could not reach ${target}: ${reason}`;
    else message = `egress proxy answered ${status} for ${target}: ${reason}`;
    return Object.assign(new Error(message), { code: status === 403 ? REFUSED : 'CRONIUM_EGRESS_FAILED', status, reason, target });
  };

  /** undici's proxy client, except that a CONNECT answered with anything but 200 fails with tunnelError. */
  const tunnelClient = (Pool) => (origin, options) => {
    const pool = new Pool(origin, options);
    const connect = pool.connect.bind(pool);
    pool.connect = async (opts) => {
      const answer = await connect(opts);
      if (answer.statusCode === 200) return answer;
      answer.socket.on('error', () => undefined).destroy();
      throw tunnelError(opts.path, answer.statusCode, answer.headers || {});
    };
    return pool;
  };

  /** undici announces EnvHttpProxyAgent as experimental on stderr; the script's stderr is the script's. */
  const withoutExperimentalWarning = (make) => {
    const emitWarning = process.emitWarning;
    process.emitWarning = function (warning, options, ...rest) {
      if ((options && typeof options === 'object' ? options.code : rest[0]) === 'UNDICI-EHPA') return;
      return emitWarning.call(process, warning, options, ...rest);
    };
    try {
      return make();
    } finally {
      process.emitWarning = emitWarning;
    }
  };

  let installed = false;
  const install = () => {
    if (installed) return;
    installed = true;
    try {
      const { setGlobalDispatcher, EnvHttpProxyAgent, Pool } = require('./node_modules/undici');
      setGlobalDispatcher(withoutExperimentalWarning(() => new EnvHttpProxyAgent({ clientFactory: tunnelClient(Pool) })));
    } catch (err) {
      process.stderr.write(`cronium: fetch() could not be routed through the egress proxy: ${err && err.message}\n`);
    }
  };

  /** Node's "fetch failed" TypeError, with the proxy's reason in its message (same error, same stack). */
  const explain = (err) => {
    const cause = err && err.cause;
    if (err instanceof TypeError && cause && (cause.code === REFUSED || cause.code === 'CRONIUM_EGRESS_FAILED')) {
      const first = `${err.name}: ${err.message}`;
      const stack = err.stack; // formatted now, before the message changes
      err.message = `${err.message}: ${cause.message}`;
      if (typeof stack === 'string' && stack.startsWith(first)) err.stack = `${err.name}: ${err.message}${stack.slice(first.length)}`;
    }
    throw err;
  };

  globalThis.fetch = function fetch(input, init) {
    install();
    return nativeFetch(input, init).catch(explain);
  };
}
