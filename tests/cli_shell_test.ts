// `sandbox shell` and `sandbox run --tty` driven on a real pseudo-terminal (tests/_pty_drive.py,
// python3's pty: Deno cannot open one): raw mode while the program runs, keystrokes and Ctrl-C to
// the program, window-size changes forwarded, and the host terminal's modes restored on every way
// out (exit, timeout, kill, setup failure, SIGTERM and SIGHUP to the CLI).
import { assert, assertEquals, assertMatch } from "./_assert.ts";
import { kernelTest, ROOT } from "./_helpers.ts";

const DRIVER = `${ROOT}tests/_pty_drive.py`;
const CLI = `${ROOT}cli.ts`;

type Step =
  | ["send", string]
  | ["expect", string, number]
  | ["resize", number, number]
  | ["signal", string]
  | ["sleep", number]
  | ["raw"];

interface Driven {
  code: number;
  restored: boolean;
  raw: boolean[];
  output: string;
  failed: unknown;
}

/** Runs `cli.ts ARGS` on a fresh pty (100x30) through the steps; what the driver saw. */
async function drive(args: string[], steps: Step[]): Promise<Driven> {
  const out = await new Deno.Command("python3", {
    args: [DRIVER, JSON.stringify(steps), "--", Deno.execPath(), "run", "-A", CLI, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assertEquals(out.code, 0, `driver: ${text}${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(text) as Driven;
}

kernelTest(
  "shell: bash on the sandbox's pty, raw host terminal, resize, Ctrl-C, exit code",
  async () => {
    const d = await drive(["shell", "-t", "60s"], [
      ["expect", "\\$ $", 30],
      ["raw"],
      ["send", "tty; echo $((6*7))\r"],
      ["expect", "/dev/pts/0\\r+\\n[\\s\\S]*42", 10],
      ["send", "stty size\r"],
      ["expect", "30 100", 10],
      ["resize", 120, 40],
      ["sleep", 0.3],
      ["send", "stty size\r"],
      ["expect", "40 120", 10],
      ["send", "sleep 30\r"],
      ["sleep", 0.5],
      ["send", "\u0003"], // Ctrl-C: to the program, not to the CLI
      ["send", "echo after-$?\r"],
      ["expect", "after-130", 10],
      ["send", "exit 3\r"],
    ]);
    assertEquals(d.failed, null, d.output);
    assertEquals(d.raw, [true], "raw mode while the shell runs");
    assertEquals([d.code, d.restored], [3, true], d.output);
  },
);

kernelTest("shell: the host terminal is restored on every way out", async () => {
  // [args, steps, expected exit code (null: any non-zero)]
  const cases: [string, string[], Step[], number | null][] = [
    ["timeout", ["shell", "-t", "1s", "--", "sleep", "10"], [], 124],
    ["program killed", ["shell", "--", "sh", "-c", "kill -9 $$"], [], 137],
    ["setup failure", ["shell", "--", "/nonexistent"], [], 127],
    ["SIGTERM to the CLI", ["shell", "--", "sh", "-c", "echo up; sleep 30"], [
      ["expect", "up", 30],
      ["raw"],
      ["signal", "SIGTERM"],
    ], null],
    ["SIGHUP to the CLI", ["shell", "--", "sh", "-c", "echo up; sleep 30"], [
      ["expect", "up", 30],
      ["raw"],
      ["signal", "SIGHUP"],
    ], 129],
  ];
  for (const [name, args, steps, code] of cases) {
    const d = await drive(args, steps);
    assertEquals(d.failed, null, `${name}: ${d.output}`);
    assert(d.restored, `${name}: terminal modes not restored`);
    if (steps.length) assertEquals(d.raw, [true], `${name}: raw mode while it ran`);
    if (code === null) assert(d.code !== 0, `${name}: exit ${d.code}`);
    else assertEquals(d.code, code, `${name}: ${d.output}`);
  }
});

kernelTest("shell needs a terminal on stdin; run --tty gives a terminal without one", async () => {
  const cli = (args: string[], stdin: "null" | "piped" = "null") =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", CLI, ...args],
      stdin,
      stdout: "piped",
      stderr: "piped",
    }).output();
  const dec = new TextDecoder();
  const shell = await cli(["shell"]);
  assertEquals(shell.code, 2);
  assertMatch(dec.decode(shell.stderr), /"sandbox shell" needs a terminal on stdin/);
  const run = await cli(["run", "-q", "--tty", "--", "sh", "-c", "tty; stty size"]);
  assertEquals(run.code, 0, dec.decode(run.stderr));
  assertMatch(dec.decode(run.stdout), /^\/dev\/pts\/0\r\n\d+ \d+\r\n$/);
  const twice = await cli(["shell", "--tty"]);
  assertEquals(twice.code, 2);
});
