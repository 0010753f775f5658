// The JSR package (deno.json "publish"): every local document README.md links to is published,
// so no link on the package page is dead, and the package carries its license.
import { assert, assertEquals } from "./_assert.ts";
import { ROOT } from "./_helpers.ts";

const config = JSON.parse(Deno.readTextFileSync(`${ROOT}deno.json`));
const include: string[] = config.publish.include;

function published(path: string): boolean {
  return include.some((p) => p === path || (p.endsWith("/") && path.startsWith(p)));
}

Deno.test("every local file README.md links to is published, and the license", () => {
  const readme = Deno.readTextFileSync(`${ROOT}README.md`);
  const links = [...readme.matchAll(/\]\(([^)#:\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!);
  assert(links.includes("SECURITY.md"), `links found: ${links}`);
  assertEquals(links.filter((l) => !published(l)), []);
  assert(published("LICENSE"));
  assertEquals(config.license, "MIT");
});

Deno.test("the package carries every launcher source and the generated build id", async () => {
  const { LAUNCHER_SOURCES } = await import("../lib/launcher.ts");
  const globbed = (path: string) =>
    include.some((p) =>
      p.includes("*") &&
      new RegExp(`^${p.replaceAll(".", "\\.").replaceAll("*", "[^/]*")}$`).test(path)
    );
  const missing = [...LAUNCHER_SOURCES.map((n) => `launcher/${n}`), "lib/_build_id.ts"]
    .filter((path) => !published(path) && !globbed(path));
  assertEquals(missing, []);
});
