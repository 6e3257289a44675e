// The package as another project gets it: packed with npm pack, installed
// from the tarball into a scratch project beside its peer dependencies,
// type-checked against the types it ships, and run against the real server.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";

import { startServer } from "./server.mjs";

const packageDir = resolve(import.meta.dirname, "..");
let server;
let scratch;
before(async () => {
  server = await startServer(["-demo"]);
  scratch = mkdtempSync(join(tmpdir(), "ampersand-connect-client-"));
});
after(async () => {
  assert.equal(await server.stop(), 0);
  rmSync(scratch, { recursive: true, force: true });
});

function run(command, args, cwd) {
  return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
}

test("npm pack, then a scratch project installs the tarball and calls the server", async () => {
  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", scratch], packageDir));
  const files = packed.files.map((f) => f.path);
  for (const want of ["package.json", "README.md", "LICENSE", "dist/index.js", "dist/index.d.ts", "dist/gen/index.js"]) {
    assert.ok(files.includes(want), `the tarball lacks ${want}: ${files}`);
  }
  assert.ok(!files.some((f) => f.startsWith("test/") || f.startsWith("node_modules/")), `the tarball holds more than the package: ${files}`);

  const app = join(scratch, "app");
  run("mkdir", ["-p", app], scratch);
  writeFileSync(join(app, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module" }));
  writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
    compilerOptions: { module: "nodenext", target: "es2022", strict: true, outDir: "dist", types: ["node"] },
    include: ["main.ts"],
  }));
  writeFileSync(join(app, "main.ts"), readFileSync(join(packageDir, "example/main.ts")));
  // The app's runtime is newer than the one the package was built with
  // (2.13.0): within the peer range, so there is one copy of it all the same.
  run("npm", ["install", "--no-audit", "--no-fund", "--engine-strict", join(scratch, packed.filename),
    "@bufbuild/protobuf@^2.14.0", "@connectrpc/connect@2.1.2", "@connectrpc/connect-node@2.1.2", "typescript@5.9.3", "@types/node@20"], app);

  // One runtime: the package brings no copy of its own of its peers.
  assert.ok(!existsSync(join(app, "node_modules/@ampersand-connect/client/node_modules")), "the package installed its own dependencies");

  run(join(app, "node_modules/.bin/tsc"), ["-p", "."], app);
  const out = run("node", [join(app, "dist/main.js"), server.url], app).trim().split("\n");
  assert.deepEqual(out.slice(0, 2), ["read-accounts existent", "NotFound NOT_FOUND demo-request"]);
  assert.match(out[2], /integration "nope" not found/);
});

test("the READMEs show the example as it is", () => {
  const example = readFileSync(join(packageDir, "example/main.ts"), "utf8");
  for (const readme of ["README.md", "../../README.md"]) {
    assert.ok(readFileSync(join(packageDir, readme), "utf8").includes("```ts\n" + example + "```\n"),
      `${readme} does not show example/main.ts as it is: copy the file into its TypeScript block`);
  }
});
