import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type Docker from 'dockerode';
import type { ImageConfig } from './oci-spec.js';

const exec = promisify(execFile);

export interface ResolvedImage {
  name: string;
  /** sha256:... */
  id: string;
  config: ImageConfig;
  /** Layer directories, topmost first. */
  layers: string[];
}

/** The image's layers as Docker's overlay2 driver stores them, and the parts of its config a container uses. */
export async function resolveImage(docker: Docker, name: string): Promise<ResolvedImage> {
  const info = (await docker.getImage(name).inspect()) as {
    Id: string;
    Config?: { Env?: string[] | null; Entrypoint?: string[] | null; Cmd?: string[] | null };
    GraphDriver?: { Name?: string; Data?: Record<string, string> };
  };
  if (info.GraphDriver?.Name !== 'overlay2') throw new Error(`image ${name}: the runc driver needs Docker's overlay2 storage driver, not ${info.GraphDriver?.Name}`);
  const data = info.GraphDriver.Data ?? {};
  const layers = [data.UpperDir, ...(data.LowerDir ? data.LowerDir.split(':') : [])].filter((d): d is string => Boolean(d));
  if (!layers.length) throw new Error(`image ${name}: no layers found`);
  return {
    name,
    id: info.Id,
    config: { env: info.Config?.Env ?? [], entrypoint: info.Config?.Entrypoint ?? [], cmd: info.Config?.Cmd ?? [] },
    layers,
  };
}

export function isMountPoint(target: string): boolean {
  const mi = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  return mi.split('\n').some((l) => l.split(' ')[4] === target);
}

/**
 * Where Cronium binds host directories into a sandbox outside its tmpfs (a dependency bundle, a build step's
 * scratch directory); Docker makes a missing mount point in the container's own layer, this root has none.
 */
export const BIND_MOUNT_POINTS = ['opt/cronium/deps/python', 'opt/cronium/build'];

/**
 * Docker gives every container an "init" layer with the mount points it binds over (/etc/hosts and friends).
 * The shared root here is read-only without an upper layer, so those mount points must exist below it.
 */
function writeInitLayer(dir: string) {
  // Absent from every image, so no image directory's mode is hidden by them.
  for (const d of BIND_MOUNT_POINTS) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
  // Exactly Docker's init layer: a directory here would hide the image's own (runc gives a tmpfs the mode of the
  // directory it is mounted on, so /tmp and /work must keep the image's 1777 and 0700).
  for (const d of ['dev/pts', 'dev/shm', 'proc', 'sys', 'etc']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o755 });
  for (const f of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'dev/console']) {
    const p = path.join(dir, f);
    if (!fs.existsSync(p)) fs.writeFileSync(p, '', { mode: 0o644 });
  }
  if (!fs.existsSync(path.join(dir, 'etc/mtab'))) fs.symlinkSync('/proc/mounts', path.join(dir, 'etc/mtab'));
}

/**
 * One read-only overlay per image id under <stateDir>/rootfs/<hex>, shared by all runc sandboxes of that image
 * (their root is read-only anyway; /tmp and /work are per-container tmpfs). No upper layer: nothing can write
 * through it. When an image name points to a new id, mounts of its older ids are lazily detached: running
 * sandboxes keep their own copy of the mount in their mount namespace.
 */
export async function ensureRootfs(stateDir: string, image: ResolvedImage): Promise<string> {
  const base = path.join(stateDir, 'rootfs');
  const hex = image.id.replace(/^sha256:/, '');
  const target = path.join(base, hex);
  const init = path.join(base, `${hex}.init`);
  if (isMountPoint(target)) {
    // Mounted by a server from before a mount point was added: made again (running sandboxes keep theirs).
    if (BIND_MOUNT_POINTS.every((d) => fs.existsSync(path.join(init, d)))) return target;
    await unmountRootfs(stateDir, hex);
  }
  fs.mkdirSync(target, { recursive: true, mode: 0o755 });
  writeInitLayer(init);
  const lowerdir = [init, ...image.layers].join(':');
  if (lowerdir.length > 3500) throw new Error(`image ${image.name} has too many layers to mount (${image.layers.length})`);
  await exec('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${lowerdir}`, target]);
  fs.writeFileSync(path.join(base, `${hex}.image`), image.name);
  // Older ids of the same image name are no longer used for new sandboxes.
  for (const f of fs.readdirSync(base)) {
    if (!f.endsWith('.image') || f === `${hex}.image`) continue;
    const old = f.slice(0, -'.image'.length);
    if (fs.readFileSync(path.join(base, f), 'utf8') !== image.name) continue;
    await unmountRootfs(stateDir, old).catch(() => undefined);
  }
  return target;
}

export async function unmountRootfs(stateDir: string, hex: string): Promise<void> {
  const base = path.join(stateDir, 'rootfs');
  const target = path.join(base, hex);
  if (isMountPoint(target)) await exec('umount', ['-l', target]);
  // rmdir, never a recursive delete: the mount point is empty once detached.
  if (fs.existsSync(target)) fs.rmdirSync(target);
  fs.rmSync(`${target}.init`, { recursive: true, force: true });
  fs.rmSync(`${target}.image`, { force: true });
}
