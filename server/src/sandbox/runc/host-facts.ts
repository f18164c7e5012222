// The host facts the runc driver refuses to run on, read the same way by the start-up choice (probe-host.ts)
// and by the runtime's own check (runc-runtime.ts), so that auto never picks what the check then refuses.
import fs from 'node:fs';

const readText = (file: string): string => {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
};

/** Whether AppArmor is enabled on this host: Docker would apply docker-default, the runc driver applies none. */
export function readAppArmorEnabled(): boolean {
  return readText('/sys/module/apparmor/parameters/enabled') === 'Y';
}

/**
 * Controllers on the v2 mount of a hybrid cgroup layout (v1 hierarchies plus /sys/fs/cgroup/unified), which
 * crun refuses. cgroupfs files report size 0, so the file is read, never sized.
 */
export function readHybridV2Controllers(): string[] {
  return readText('/sys/fs/cgroup/unified/cgroup.controllers').split(/\s+/).filter(Boolean);
}
