// The module graph of lib/ (DESIGN "One-way dependencies"): no import cycle, types.ts at the
// bottom importing nothing but identity_types.ts (which imports nothing), and mod.ts holding
// re-exports only.
import { assertEquals } from "./_assert.ts";

const ROOT = new URL("../", import.meta.url);

/** The relative imports and re-exports of a TypeScript file, as paths from the repo root. */
function importsOf(path: string): string[] {
  const text = Deno.readTextFileSync(new URL(path, ROOT));
  const dir = path.slice(0, path.lastIndexOf("/") + 1);
  const out: string[] = [];
  // `import ... from "./x.ts"`, `export ... from "./x.ts"`, `import "./x.ts"`; not in comments.
  const re = /^(?:(?:import|export)\b[^;()=]*?\bfrom|import)\s*["'](\.\.?\/[^"']+)["']/gm;
  for (const m of text.matchAll(re)) {
    out.push(new URL(m[1]!, new URL(dir, ROOT)).pathname.slice(ROOT.pathname.length));
  }
  return [...new Set(out)];
}

function libFiles(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(new URL(dir, ROOT))) {
      if (e.isDirectory) walk(`${dir}${e.name}/`);
      else if (e.name.endsWith(".ts")) files.push(`${dir}${e.name}`);
    }
  };
  walk("lib/");
  return files.sort();
}

/** Every cycle reachable in `graph`, each as the path that closes it. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (n: string) => {
    state.set(n, "open");
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === "open") found.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, "done");
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return found;
}

Deno.test("lib/ has no import cycle", () => {
  const graph = new Map(libFiles().map((f) => [f, importsOf(f)]));
  assertEquals(cycles(graph).map((c) => c.join(" -> ")), []);
});

Deno.test("lib/types.ts imports nothing but identity_types.ts, which imports nothing", () => {
  assertEquals(importsOf("lib/types.ts"), ["lib/identity_types.ts"]);
  assertEquals(importsOf("lib/identity_types.ts"), []);
});

Deno.test("lib/ never imports mod.ts or cli.ts (they sit on top)", () => {
  const up = libFiles().flatMap((f) =>
    importsOf(f).filter((i) => i === "mod.ts" || i === "cli.ts").map((i) => `${f} -> ${i}`)
  );
  assertEquals(up, []);
});

Deno.test("the cycle finder finds a cycle", () => {
  const graph = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
  assertEquals(cycles(graph), [["a", "b", "c", "a"]]);
});
