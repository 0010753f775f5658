// launcher/abi.h and lib/abi.ts state the same contract (exit codes, forwarded signals) for C and
// TypeScript. These tests read the header as the preprocessor would — comments dropped, line
// continuations joined, #define bodies and the X-macro expanded — and compare it with lib/abi.ts,
// so a change on one side only fails here.
import { assert, assertEquals } from "./_assert.ts";
import { testOrSkip } from "./_skip.ts";
import { EXIT, FORWARDED_SIGNALS, KILL_SIGNAL, SETUP_STEPS } from "../lib/abi.ts";

const HEADER = new URL("../launcher/abi.h", import.meta.url);

/** lib/abi.ts's EXIT keys and the abi.h macros that hold the same codes. */
const EXIT_MACROS: Record<keyof typeof EXIT, string> = {
  timeout: "EXIT_TIMEOUT",
  setup: "EXIT_SETUP",
  notExecutable: "EXIT_NOEXEC",
  notFound: "EXIT_NOTFOUND",
  signalBase: "EXIT_SIGNAL_BASE",
};

interface Macro {
  params: string[] | null; // null: an object-like macro
  body: string;
}

/** The #defines of a C header: comments removed, backslash-newlines joined. */
function parseDefines(src: string): Map<string, Macro> {
  const text = src
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/\/\/[^\n]*/g, "")
    .replace(/\\\r?\n/g, " ");
  const defines = new Map<string, Macro>();
  for (const line of text.split("\n")) {
    // A function-like macro has "(" right after its name; an object-like one does not.
    const m = /^\s*#\s*define\s+([A-Za-z_]\w*)(?:\(([^)]*)\))?(.*)$/.exec(line);
    if (!m) continue;
    const [, name, params, body] = m;
    assert(name !== undefined && body !== undefined);
    assert(!defines.has(name), `abi.h defines ${name} twice`);
    defines.set(name, {
      params: params === undefined ? null : params.split(",").map((p) => p.trim()),
      body: body.trim(),
    });
  }
  return defines;
}

/** The arguments of an X-macro list `NAME(X)` whose body is only `X(a) X(b) ...`. */
function expandXMacro(defines: Map<string, Macro>, name: string): string[] {
  const macro = defines.get(name);
  assert(macro?.params?.length === 1, `abi.h: ${name} should be a macro of one parameter`);
  const x = macro.params[0];
  const call = new RegExp(`\\b${x}\\(\\s*([A-Za-z_]\\w*)\\s*\\)`, "g");
  const items = [...macro.body.matchAll(call)].map((m) => m[1] ?? "");
  const rest = macro.body.replace(call, "").trim();
  assertEquals(rest, "", `abi.h: ${name} should hold only ${x}(...) entries, found "${rest}"`);
  return items;
}

const defines = parseDefines(Deno.readTextFileSync(HEADER));

Deno.test("abi.h's EXIT_* codes are lib/abi.ts's EXIT", () => {
  const inHeader = [...defines.keys()].filter((n) => n.startsWith("EXIT_")).sort();
  assertEquals(inHeader, Object.values(EXIT_MACROS).sort(), "EXIT_* macros without an EXIT key");
  for (const [key, macro] of Object.entries(EXIT_MACROS) as [keyof typeof EXIT, string][]) {
    const body = defines.get(macro)?.body ?? "";
    assert(/^\d+$/.test(body), `abi.h: ${macro} should be a decimal number, is "${body}"`);
    assertEquals(Number(body), EXIT[key], `${macro} vs EXIT.${key}`);
  }
});

Deno.test("abi.h's FORWARDED_SIGNALS X-macro is lib/abi.ts's FORWARDED_SIGNALS, in order", () => {
  assertEquals(expandXMacro(defines, "FORWARDED_SIGNALS"), [...FORWARDED_SIGNALS]);
});

Deno.test("abi.h's SIG_KILL_SANDBOX is lib/abi.ts's KILL_SIGNAL", () => {
  assertEquals(defines.get("SIG_KILL_SANDBOX")?.body.trim(), KILL_SIGNAL);
});

// The C preprocessor is the ground truth: when a compiler is here, expand the same macros with
// it and check that the parse above read what the launcher's build reads.
const cc = (() => {
  try {
    return new Deno.Command("cc", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
testOrSkip(
  "the C preprocessor expands abi.h to the values parsed here",
  !cc && "no cc on PATH",
  async () => {
    const probe = [
      '#include "abi.h"',
      `abi-exit ${Object.values(EXIT_MACROS).join(" ")}`,
      "#define NAME(sig) #sig",
      "abi-signals FORWARDED_SIGNALS(NAME)",
      "",
    ].join("\n");
    const child = new Deno.Command("cc", {
      args: ["-E", "-P", "-x", "c", "-D_GNU_SOURCE", "-iquote", new URL(".", HEADER).pathname, "-"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(probe));
    await writer.close();
    const out = await child.output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const lines = new TextDecoder().decode(out.stdout).split("\n");
    const line = (tag: string) => lines.find((l) => l.startsWith(`${tag} `))?.slice(tag.length + 1);
    const codes = line("abi-exit")?.trim().split(/\s+/).map(Number);
    assertEquals(codes, Object.values(EXIT_MACROS).map((m) => Number(defines.get(m)?.body)));
    const names = line("abi-signals")?.match(/"[^"]*"/g)?.map((s) => s.slice(1, -1));
    assertEquals(names, expandXMacro(defines, "FORWARDED_SIGNALS"));
  },
);

Deno.test("util.h's STEPS X-macro words are lib/abi.ts's SETUP_STEPS", () => {
  const util = Deno.readTextFileSync(new URL("../launcher/util.h", import.meta.url));
  const body = parseDefines(util).get("STEPS")?.body ?? "";
  const words = [...body.matchAll(/X\(\w+,\s*"([a-z-]+)"\)/g)].map((m) => m[1]!);
  assert(words.length > 10, "no STEPS(X) table found in launcher/util.h");
  // "unknown" is what the launcher's step_name() says for a number outside the table.
  assertEquals([...words, "unknown"].sort(), [...SETUP_STEPS].sort());
});
