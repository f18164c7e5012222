import path from 'node:path';

/** The dashboard's configuration, read from the environment at each call (so tests may change it). */
export function webConfig() {
  const env = process.env;
  return {
    apiUrl: (env.CRONIUM_API_URL || 'http://127.0.0.1:8080').replace(/\/+$/, ''),
    dataDir: path.resolve(env.CRONIUM_DATA_DIR || './.cronium'),
    sessionSecret: env.CRONIUM_SESSION_SECRET || null,
    secureCookies: env.CRONIUM_WEB_SECURE_COOKIES === 'true' || env.CRONIUM_WEB_SECURE_COOKIES === '1',
    /** How long a sign-in lasts, in seconds. */
    sessionMaxAge: Number(env.CRONIUM_WEB_SESSION_MAX_AGE) > 0 ? Number(env.CRONIUM_WEB_SESSION_MAX_AGE) : 7 * 24 * 3600,
  };
}
