import { ConfigError, loadConfig } from './config.js';
import { startServer } from './server.js';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`cronium: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const server = await startServer(config);
  if (server.generatedAdminKey) {
    console.log('\n  First start: an admin API key was generated. It is shown only this once; keep it safe:\n');
    console.log(`    ${server.generatedAdminKey}\n`);
  }
  console.log(`Cronium Sandbox API listening on ${server.url}  (runtime API for sandboxes: ${server.runtimeUrl})`);
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`cronium: ${signal} received, shutting down`);
    await server.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error('cronium: could not start:', err instanceof Error ? err.message : err);
  process.exit(1);
});
