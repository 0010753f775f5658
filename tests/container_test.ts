// Containers (lib/container.ts, doctor's "Container" and "Sandbox run" checks): the detection and
// the runtime flags, which scripts/container-test.sh measured inside podman; and on this machine
// doctor's trial run agrees with a real run.
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { kernelTest, LAUNCHER, sandbox } from "./_helpers.ts";
import {
  CONTAINER_MARKERS,
  containerCgroupFix,
  containerFix,
  containerRootIdsFix,
  detectContainer,
} from "../lib/container.ts";
import { doctorWithTrial } from "../lib/doctor.ts";

const cgroup = (path: string) => [{ controllers: "", path }];

Deno.test("a container is told by its runtime's marker, not by the cgroup path alone", () => {
  assertEquals(detectContainer({ paths: {}, selfCgroup: cgroup("/") }), null);
  const podman = detectContainer({
    paths: { "/run/.containerenv": { type: "file" } },
    selfCgroup: cgroup("/"),
  });
  assertEquals(podman, {
    runtime: "podman",
    markers: ["/run/.containerenv"],
    cgroupNamespaceRoot: true,
  });
  const docker = detectContainer({
    paths: { "/.dockerenv": { type: "file" } },
    selfCgroup: cgroup("/docker/0123"),
  });
  assertEquals(docker?.runtime, "docker");
  assertEquals(docker?.cgroupNamespaceRoot, false);
  assertEquals(
    detectContainer({ paths: { "/.dockerenv": { type: "file" } }, selfCgroup: cgroup("/") })
      ?.runtime,
    "docker",
  );
  // A host or VM made from a Docker image keeps /.dockerenv: not a container by itself.
  assertEquals(
    detectContainer({
      paths: { "/.dockerenv": { type: "file" } },
      selfCgroup: [...cgroup("/"), { controllers: "memory", path: "/process_api/7bf3" }],
    }),
    null,
  );
  const k8s = detectContainer({
    paths: { "/var/run/secrets/kubernetes.io": { type: "dir" }, "/.dockerenv": { type: "file" } },
    selfCgroup: cgroup("/"),
  });
  assertEquals(k8s?.runtime, "kubernetes");
  assertEquals(k8s?.markers, ["/.dockerenv", "/var/run/secrets/kubernetes.io"]);
});

Deno.test("each runtime's fix names the exact flags that gave the full sandbox", () => {
  const ctx = (runtime: "podman" | "docker" | "kubernetes") => ({
    runtime,
    markers: [],
    cgroupNamespaceRoot: false,
  });
  // The smallest sets scripts/container-test.sh found with podman/crun (README "Containers").
  assertEquals(
    containerFix(ctx("podman"), 65534),
    "run the container with --security-opt seccomp=unconfined --security-opt unmask=/proc/*",
  );
  assertMatch(
    containerFix(ctx("podman"), 0),
    /^run the container with --cap-add SYS_ADMIN --security-opt unmask=\/proc\/\* /,
  );
  assertMatch(containerFix(ctx("docker"), 1000), /--security-opt systempaths=unconfined$/);
  assertMatch(containerFix(ctx("kubernetes"), 1000), /hostUsers: false.*procMount: Unmasked/);
  // Rootless podman: the container's root has no per-run host ids; a non-root user needs none.
  assertMatch(
    containerRootIdsFix(ctx("podman")),
    /rootless runtime.*non-root user.*with --security-opt seccomp=unconfined --security-opt unmask=\/proc\/\*$/,
  );
  assertMatch(containerCgroupFix(ctx("podman"), 1), /-v \/sys\/fs\/cgroup:\/sys\/fs\/cgroup:rw/);
  assertMatch(containerCgroupFix(ctx("podman"), 2), /--cgroupns=private.*not tested here/);
});

kernelTest("doctor's trial run and Container line tell the truth on this machine", async () => {
  const report = await doctorWithTrial(LAUNCHER);
  const present = CONTAINER_MARKERS.filter((m) => {
    try {
      Deno.lstatSync(m);
      return true;
    } catch {
      return false;
    }
  });
  // What doctor says agrees with the pure detection over the files really there.
  const selfCgroup = Deno.readTextFileSync("/proc/self/cgroup").trim().split("\n").map((l) => {
    const [, controllers = "", path = ""] = l.split(":");
    return { controllers, path };
  });
  const expected = detectContainer({
    paths: Object.fromEntries(present.map((m) => [m, {}])),
    selfCgroup,
  });
  assertEquals(report.container, expected);
  assertEquals(report.checks.some((c) => c.name === "Container"), expected !== null);
  const trial = report.checks.find((c) => c.name === "Sandbox run");
  assert(trial, "no Sandbox run check");
  // The same run for real: doctor says ok exactly when it works with namespaces.
  let works = false;
  try {
    const s = sandbox();
    works = (await s.run("true")).exitCode === 0 && s.enforced.namespaces.length > 0;
  } catch {
    works = false;
  }
  assertEquals(trial.ok, works, trial.detail);
  if (!trial.ok) assert(trial.fix, "a failed trial names a fix");
});
