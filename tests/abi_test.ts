// lib/abi.ts and launcher/abi.h state the same contract; these tests fail when they disagree.
import { assertEquals } from "./_assert.ts";
import { EXIT, FORWARDED_SIGNALS, SETUP_STEPS } from "../lib/abi.ts";

const abiH = Deno.readTextFileSync(new URL("../launcher/abi.h", import.meta.url));

/** `#define NAME 123` values of abi.h. */
function defines(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of abiH.matchAll(/^#define (EXIT_\w+) (\d+)/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

Deno.test("abi: the exit codes match launcher/abi.h", () => {
  assertEquals(defines(), {
    EXIT_TIMEOUT: EXIT.timeout,
    EXIT_SETUP: EXIT.setup,
    EXIT_NOEXEC: EXIT.notExecutable,
    EXIT_NOTFOUND: EXIT.notFound,
    EXIT_SIGNAL_BASE: EXIT.signalBase,
  });
});

Deno.test("abi: the forwarded signals match launcher/abi.h, in order", () => {
  const body = /#define FORWARDED_SIGNALS\(X\)((?:.*\\\n)*.*)/.exec(abiH)?.[1] ?? "";
  const names = [...body.matchAll(/X\((SIG\w+)\)/g)].map((m) => m[1]);
  assertEquals(names, [...FORWARDED_SIGNALS]);
});

Deno.test("abi: the setup steps are the launcher's step names", () => {
  // The launcher's table: `[STEP_X] = "name",` entries, wherever they live in launcher/*.c.
  const names: string[] = [];
  for (const e of Deno.readDirSync(new URL("../launcher/", import.meta.url))) {
    if (!e.name.endsWith(".c")) continue;
    const c = Deno.readTextFileSync(new URL(`../launcher/${e.name}`, import.meta.url));
    for (const m of c.matchAll(/\[STEP_\w+\]\s*=\s*"([a-z-]+)"/g)) names.push(m[1]!);
  }
  // "unknown" is what the launcher's step_name() says for a number outside the table.
  assertEquals([...names, "unknown"].sort(), [...SETUP_STEPS].sort());
});
