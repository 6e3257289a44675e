// Starts the real server binary for the Node and browser tests: the one in
// $SERVER_BIN, or one built from ./cmd/ampersand-connect.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

const repoRoot = resolve(import.meta.dirname, "../../..");
let built;

function serverBinary() {
  if (process.env.SERVER_BIN) {
    return process.env.SERVER_BIN;
  }
  if (!built) {
    built = join(mkdtempSync(join(tmpdir(), "ampersand-connect-")), "server");
    execFileSync("go", ["build", "-o", built, "./cmd/ampersand-connect"], { cwd: repoRoot, stdio: "inherit" });
  }
  return built;
}

/**
 * startServer runs the server on a free loopback port and resolves once it
 * listens (on its gRPC port too, when args has -grpc-addr). stop() sends
 * SIGTERM and resolves with the exit code.
 */
export async function startServer(args = [], env = {}) {
  const child = spawn(serverBinary(), ["-addr", "127.0.0.1:0", ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  const logs = [];
  const exited = new Promise((resolve) => child.on("exit", (code) => resolve(code)));
  const wantGrpc = args.includes("-grpc-addr");
  const [addr, grpcAddr] = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stderr });
    let main;
    lines.on("line", (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line);
        if (entry.msg === "listening") {
          main = entry.addr;
          if (!wantGrpc) resolve([main]);
        } else if (entry.msg === "gRPC listening") {
          resolve([main, entry.addr]); // logged right after "listening"
        }
      } catch {}
    });
    exited.then((code) => reject(new Error(`server exited with ${code}:\n${logs.join("\n")}`)));
  });
  return {
    addr,
    url: `http://${addr}`,
    grpcUrl: grpcAddr && `http://${grpcAddr}`,
    logs,
    async stop() {
      child.kill("SIGTERM");
      return exited;
    },
  };
}
