import { LABEL_MANAGED, type SandboxNetworkInfo } from '../driver.js';
import { type DockerEngine, isStatus } from './docker-engine.js';

/** What a runtime that shares the network's address space needs to see of it (runc/runc-runtime.ts). */
export interface NetworkDetails {
  info: SandboxNetworkInfo;
  /** Containers the Docker engine has attached to it. */
  attached: number;
  ipam: { Subnet?: string; Gateway?: string; IPRange?: string }[];
  labels: Record<string, string>;
  options: Record<string, string>;
}

interface Inspected {
  Id: string;
  Name: string;
  Internal: boolean;
  Containers?: Record<string, unknown>;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string; IPRange?: string }[] };
  Labels?: Record<string, string>;
  Options?: Record<string, string>;
}

const ICC = 'com.docker.network.bridge.enable_icc';

/**
 * The sandbox network, a Docker bridge network every sandbox joins whatever runs it: internal (no route out;
 * egress is only through the allowlisting proxy on the host side) and without inter-container traffic.
 */
export class SandboxNetwork {
  constructor(
    private readonly engine: DockerEngine,
    readonly name: string,
    private readonly subnet?: string,
  ) {}

  async details(): Promise<NetworkDetails> {
    const n = (await this.engine.client.getNetwork(this.name).inspect()) as Inspected;
    const cfg = n.IPAM?.Config?.[0];
    return {
      info: {
        name: n.Name,
        id: n.Id,
        internal: n.Internal,
        subnet: cfg?.Subnet ?? null,
        gateway: cfg?.Gateway ?? null,
        bridge: n.Options?.['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`,
        icc: n.Options?.[ICC] !== 'false',
      },
      attached: Object.keys(n.Containers ?? {}).length,
      ipam: n.IPAM?.Config ?? [],
      labels: n.Labels ?? {},
      options: n.Options ?? {},
    };
  }

  /** The network, created when it does not exist yet. */
  async ensure(): Promise<SandboxNetworkInfo> {
    try {
      return (await this.details()).info;
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    await this.create(this.subnet ? { subnet: this.subnet } : {});
    return (await this.details()).info;
  }

  /** Removes the network and makes it again with Docker's addresses limited to `ipRange`, keeping the rest of it. */
  async recreate(was: NetworkDetails, ipRange: string): Promise<void> {
    const subnet = was.ipam[0]?.Subnet;
    if (!subnet) throw new Error(`the sandbox network ${was.info.name} has no subnet to keep`);
    await this.engine.client.getNetwork(was.info.id).remove();
    await this.create({ subnet, ipRange, gateway: was.ipam[0]?.Gateway, labels: was.labels, options: was.options });
  }

  private async create(o: { subnet?: string; ipRange?: string; gateway?: string; labels?: Record<string, string>; options?: Record<string, string> }): Promise<void> {
    try {
      await this.engine.client.createNetwork({
        Name: this.name,
        Driver: 'bridge',
        // No route out: egress is only through the allowlisting proxy on the host side of this network.
        Internal: true,
        CheckDuplicate: true,
        Labels: { ...o.labels, [LABEL_MANAGED]: 'true' },
        // Sandboxes must not talk to one another.
        Options: { ...o.options, [ICC]: 'false' },
        ...(o.subnet
          ? { IPAM: { Driver: 'default', Config: [{ Subnet: o.subnet, ...(o.ipRange ? { IPRange: o.ipRange } : {}), ...(o.gateway ? { Gateway: o.gateway } : {}) }] } }
          : {}),
      });
    } catch (err) {
      // Another server may have created it at the same moment.
      if (!isStatus(err, 409)) throw err;
    }
  }
}
