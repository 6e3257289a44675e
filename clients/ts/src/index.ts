// @ampersand-connect/client: typed clients of the ampersand.v1 services for
// Connect-ES v2, with the error detail types the service sends.
//
//   import { createClient } from "@connectrpc/connect";
//   import { createConnectTransport } from "@connectrpc/connect-web";
//   import { IntegrationService } from "@ampersand-connect/client";
//
//   const client = createClient(IntegrationService, createConnectTransport({ baseUrl }));
//   const { integration } = await client.getIntegration({ projectIdOrName, integrationIdOrName });

import { ConnectError } from "@connectrpc/connect";

import { ProblemSchema, type Problem } from "./gen/ampersand/v1/problem_pb.js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
  HelpSchema,
  RequestInfoSchema,
  RetryInfoSchema,
  type BadRequest,
  type ErrorInfo,
  type Help,
  type RequestInfo,
  type RetryInfo,
} from "./gen/google/rpc/error_details_pb.js";

// Every message, enum and service of the schema, and the google.rpc error
// details.
export * from "./gen/index.js";

/** The domain of every error's google.rpc.ErrorInfo. */
export const errorDomain = "api.withampersand.com";

/** The details of a service error, decoded. */
export interface ErrorDetails {
  /** Always present on the service's errors. */
  errorInfo?: ErrorInfo;
  /** The upstream's problem document, when it sent one. */
  problem?: Problem;
  badRequest?: BadRequest;
  retryInfo?: RetryInfo;
  requestInfo?: RequestInfo;
  help?: Help;
}

/** errorDetails decodes the standard details of an error the service returned. */
export function errorDetails(err: unknown): ErrorDetails {
  const connectErr = ConnectError.from(err);
  return {
    errorInfo: connectErr.findDetails(ErrorInfoSchema)[0],
    problem: connectErr.findDetails(ProblemSchema)[0],
    badRequest: connectErr.findDetails(BadRequestSchema)[0],
    retryInfo: connectErr.findDetails(RetryInfoSchema)[0],
    requestInfo: connectErr.findDetails(RequestInfoSchema)[0],
    help: connectErr.findDetails(HelpSchema)[0],
  };
}
