// The client package, from Node, against the real server in -demo: Connect,
// gRPC and gRPC-Web transports (and gRPC on the -grpc-addr port), a success
// and errors with their details.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";

import { IntegrationService, errorDetails, errorDomain } from "@ampersand-connect/client";
import { startServer } from "./server.mjs";

let server;
before(async () => {
  server = await startServer(["-demo", "-grpc-addr", "127.0.0.1:0"]);
});
after(async () => {
  assert.equal(await server.stop(), 0);
});

const transports = {
  "Connect (JSON, HTTP/1.1)": () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1", useBinaryFormat: false }),
  "Connect (binary, HTTP/2)": () => createConnectTransport({ baseUrl: server.url, httpVersion: "2", useBinaryFormat: true }),
  gRPC: () => createGrpcTransport({ baseUrl: server.url }),
  "gRPC (the gRPC port)": () => createGrpcTransport({ baseUrl: server.grpcUrl }),
  "gRPC-Web": () => createGrpcWebTransport({ baseUrl: server.url, httpVersion: "1.1" }),
};

for (const [name, transport] of Object.entries(transports)) {
  describe(name, () => {
    test("gets an integration with both field variants", async () => {
      const client = createClient(IntegrationService, transport());
      const { integration } = await client.getIntegration({ projectIdOrName: "my-project", integrationIdOrName: "read-accounts" });
      assert.equal(integration?.name, "read-accounts");
      const fields = integration?.latestRevision?.content?.read?.objects[0]?.requiredFields ?? [];
      assert.equal(fields[0].field.case, "existent");
      assert.equal(fields[0].field.value.fieldName, "id");
      assert.equal(fields[2].field.case, "mapping");
      assert.equal(fields[2].field.value.mapToName, "priority");
      assert.equal(integration?.latestRevision?.content?.read?.objects[2]?.backfill?.defaultPeriod?.days, 0);
    });

    test("reads ErrorInfo and the problem of a not_found", async () => {
      const client = createClient(IntegrationService, transport());
      const err = await client
        .getIntegration({ projectIdOrName: "my-project", integrationIdOrName: "nope" })
        .then(() => assert.fail("no error"), (e) => ConnectError.from(e));
      assert.equal(err.code, Code.NotFound);
      const { errorInfo, problem, requestInfo } = errorDetails(err);
      assert.equal(errorInfo?.reason, "NOT_FOUND");
      assert.equal(errorInfo?.domain, errorDomain);
      assert.equal(errorInfo?.metadata.httpStatus, "404");
      assert.match(problem?.detail ?? "", /nope/);
      assert.equal(requestInfo?.requestId, "demo-request");
    });

    test("reads BadRequest of an invalid request", async () => {
      const client = createClient(IntegrationService, transport());
      const err = await client
        .getIntegration({ projectIdOrName: "..", integrationIdOrName: "read-accounts" })
        .then(() => assert.fail("no error"), (e) => ConnectError.from(e));
      assert.equal(err.code, Code.InvalidArgument);
      const { errorInfo, badRequest } = errorDetails(err);
      assert.equal(errorInfo?.reason, "INVALID_REQUEST");
      assert.equal(badRequest?.fieldViolations[0]?.field, "project_id_or_name");
    });
  });
}
