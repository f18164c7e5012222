import Docker from 'dockerode';
import { SandboxError } from '../driver.js';

export const isStatus = (err: unknown, code: number) => (err as { statusCode?: number })?.statusCode === code;

/**
 * The Docker engine as a host service: both runtimes need it (it keeps the runtime images and the sandbox
 * network, and runs every Docker and gVisor sandbox), so it is made once and handed to each.
 */
export class DockerEngine {
  readonly client: Docker;

  constructor(readonly socketPath: string) {
    this.client = new Docker({ socketPath });
  }

  async ping(): Promise<void> {
    try {
      await this.client.ping();
    } catch (err) {
      throw new SandboxError('HOST_UNAVAILABLE', `Docker engine unreachable at ${this.socketPath}: ${(err as Error).message}`);
    }
  }

  /** Whether the engine has an OCI runtime registered under this name (runsc for gVisor). */
  async hasRuntime(name: string): Promise<boolean> {
    const info = (await this.client.info()) as { Runtimes?: Record<string, unknown> };
    return Boolean(info.Runtimes && name in info.Runtimes);
  }
}
