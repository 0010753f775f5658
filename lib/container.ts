/**
 * Whether this process runs inside a container, from what the launcher's probe saw, and the
 * runtime flags that give a sandbox inside one what it needs — measured with podman 4.3 and
 * crun 1.8 (scripts/container-test.sh; README "Where it runs"). Pure: no `Deno.*`.
 *
 * @module
 */

/** The files container runtimes leave in every container, probed through the launcher. */
export const CONTAINER_MARKERS = [
  "/run/.containerenv", // podman, buildah, CRI-O
  "/.dockerenv", // Docker, and images built by it
  "/var/run/secrets/kubernetes.io", // a Kubernetes pod with its service account mounted
] as const;

/** A runtime's name, as the fixes address it. */
export type ContainerRuntime = "podman" | "docker" | "kubernetes";

/** What says that this process runs in a container. */
export interface ContainerContext {
  /** The runtime the marker belongs to. */
  runtime: ContainerRuntime;
  /** The marker file(s) found. */
  markers: string[];
  /** Whether this process sits at the root of its cgroup namespace (a private cgroupns). */
  cgroupNamespaceRoot: boolean;
}

/** The part of the launcher's `--features` answer this reads. */
export interface ContainerProbe {
  paths: Record<string, unknown>;
  selfCgroup: { controllers: string; path: string }[];
}

/**
 * The container this process runs in, or null when no runtime's marker is there (a marker is
 * what the runtimes promise; a cgroup path alone cannot tell a container from a host without
 * systemd, whose processes sit at `/` too). `/.dockerenv` counts only with Docker's cgroup
 * placement.
 */
export function detectContainer(probe: ContainerProbe): ContainerContext | null {
  const markers = CONTAINER_MARKERS.filter((m) => probe.paths[m] !== undefined);
  const cgroupNamespaceRoot = probe.selfCgroup.length > 0 &&
    probe.selfCgroup.every((c) => c.path === "/");
  // /.dockerenv alone is also left behind in hosts and VMs made from Docker images (this CI
  // host has one): believed only with Docker's cgroup placement — its own cgroup namespace
  // (cgroup v2's default) or a cgroup named after it.
  const docker = cgroupNamespaceRoot || probe.selfCgroup.some((c) => /docker/.test(c.path));
  if (markers.length === 1 && markers[0] === "/.dockerenv" && !docker) return null;
  if (markers.length === 0) return null;
  const runtime: ContainerRuntime = markers.includes("/var/run/secrets/kubernetes.io")
    ? "kubernetes"
    : markers.includes("/run/.containerenv")
    ? "podman"
    : "docker";
  return {
    runtime,
    markers: [...markers],
    cgroupNamespaceRoot,
  };
}

/**
 * The runtime settings the full sandbox (namespaces, a fresh /proc, a hostname, per-run id
 * ranges) needs in a container, for a caller of uid `euid` inside it — the smallest set that
 * worked under podman/crun here; each is explained in README "Containers".
 */
export function containerFix(ctx: ContainerContext, euid: number): string {
  if (ctx.runtime === "kubernetes") {
    return euid === 0
      ? "run the sandbox as a non-root user (securityContext.runAsUser), with hostUsers: false, " +
        "procMount: Unmasked and seccompProfile.type: Unconfined (deploy/kubernetes.yaml; " +
        "as root it also needs capability SYS_ADMIN)"
      : "set hostUsers: false, securityContext.procMount: Unmasked and " +
        "seccompProfile.type: Unconfined on the container (deploy/kubernetes.yaml)";
  }
  // Docker's and podman's flags; Docker spells the unmasking systempaths=unconfined.
  const unmask = ctx.runtime === "docker"
    ? "--security-opt systempaths=unconfined"
    : "--security-opt unmask=/proc/*";
  return euid === 0
    ? `run the container with --cap-add SYS_ADMIN ${unmask} ` +
      "(or better: run the sandbox as a non-root user in it, which needs only " +
      `--security-opt seccomp=unconfined ${unmask})`
    : `run the container with --security-opt seccomp=unconfined ${unmask}`;
}

/**
 * The fix when the container's root cannot take a run's host ids (`setuid` fails with EINVAL):
 * its user namespace maps no per-run id range — a rootless runtime (measured: rootless podman
 * 4.3, whose containers map the user's 65536 subordinate ids) or a remapped daemon — so no
 * capability helps; a non-root user in the container needs no host ids of its own.
 */
export function containerRootIdsFix(ctx: ContainerContext): string {
  return "this container's root is in a user namespace that maps no per-run host id range " +
    "(a rootless runtime): run the sandbox as a non-root user in the container (USER 65534, as " +
    `deploy/Containerfile does), ${containerFix(ctx, 65534).replace(/^run the container /, "")}`;
}

/**
 * How a sandbox in a container gets exact cgroup limits (runtimes mount the cgroup tree
 * read-only): measured on cgroup v1 with podman; the v2 advice is the runtimes' documented way
 * and was not run here.
 */
export function containerCgroupFix(ctx: ContainerContext, version: 1 | 2 | null): string {
  const fallback =
    'or accept rlimit approximations with limits "best-effort" (CLI: --limits best-effort)';
  if (ctx.runtime === "kubernetes") {
    return `the pod's cgroup is not delegated to its containers: ${fallback}`;
  }
  return version === 1
    ? `cgroup v1: run the container as root with -v /sys/fs/cgroup:/sys/fs/cgroup:rw (this hands it the host's whole cgroup tree), ${fallback}`
    : `cgroup v2: run the container with --cgroupns=private and a writable cgroup mount (not tested here), ${fallback}`;
}
