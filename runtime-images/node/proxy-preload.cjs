'use strict';
// Makes fetch() honour HTTP_PROXY/HTTPS_PROXY/NO_PROXY, as curl and Python do: Node's own fetch ignores
// them. Without this a script's fetch() would simply get no connection, since the sandbox has no route out
// but the egress proxy. Node's http/https modules still ignore the variables (use fetch, or an agent).
// undici is loaded on the first fetch() only: loading it costs a few hundred ms that most scripts never need.
if ((process.env.HTTPS_PROXY || process.env.HTTP_PROXY || process.env.https_proxy || process.env.http_proxy) && typeof globalThis.fetch === 'function') {
  const nativeFetch = globalThis.fetch;
  let installed = false;
  const install = () => {
    if (installed) return;
    installed = true;
    try {
      const { setGlobalDispatcher, EnvHttpProxyAgent } = require('./node_modules/undici');
      setGlobalDispatcher(new EnvHttpProxyAgent());
    } catch (err) {
      process.stderr.write(`cronium: fetch() could not be routed through the egress proxy: ${err && err.message}\n`);
    }
  };
  globalThis.fetch = function fetch(input, init) {
    install();
    globalThis.fetch = nativeFetch;
    return nativeFetch(input, init);
  };
}
