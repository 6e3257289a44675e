// Calls ampersand-connect from Node with @ampersand-connect/client: an
// integration, then the details of a not_found. Run it beside the quick
// start's server (its URL is the first argument, else http://localhost:8080).
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node"; // in a browser: createConnectTransport from @connectrpc/connect-web
import { IntegrationService, errorDetails } from "@ampersand-connect/client";

const baseUrl = process.argv[2] ?? "http://localhost:8080";
const client = createClient(IntegrationService, createGrpcTransport({ baseUrl }));

const { integration } = await client.getIntegration({ projectIdOrName: "my-project", integrationIdOrName: "read-accounts" });
const field = integration?.latestRevision?.content?.read?.objects[0]?.requiredFields[0]?.field;
console.log(integration?.name, field?.case); // read-accounts existent

try {
  await client.getIntegration({ projectIdOrName: "my-project", integrationIdOrName: "nope" });
} catch (err) {
  const { errorInfo, problem, requestInfo } = errorDetails(err);
  console.log(Code[ConnectError.from(err).code], errorInfo?.reason, requestInfo?.requestId); // NotFound NOT_FOUND demo-request
  console.log(problem?.detail);
}
