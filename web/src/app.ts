// The page the server serves at /: look an integration up over Connect-Web
// and show it as a readable tree, or show the error as its code, message and
// details. Every value is set as text, never as HTML.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import {
  DeliveryMode,
  Enablement,
  IntegrationService,
  OptionalFieldsAuto,
  WatchFieldsAuto,
  errorDetails,
  type Integration,
  type IntegrationField,
  type IntegrationObject,
  type IntegrationSubscribeObject,
} from "@ampersand-connect/client";

const client = createClient(IntegrationService, createConnectTransport({ baseUrl: window.location.origin }));

type Child = Node | string | undefined | false;

/** h builds an element with a class and children; strings become text. */
function h(tag: string, className: string, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  if (className) el.className = className;
  for (const child of children) {
    if (child === undefined || child === false) continue;
    el.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return el;
}

/** row is a "label: value" line, or nothing when the value is unset. */
function row(label: string, value: string | number | boolean | undefined): Child {
  if (value === undefined || value === "") return undefined;
  return h("div", "row", h("span", "label", label), h("span", "value", String(value)));
}

function section(title: string, ...children: Child[]): HTMLElement {
  return h("section", "node", h("h3", "", title), ...children);
}

/**
 * enumName shows an enum value as the REST API spells it ("onRequest"): the
 * proto name less its prefix, in lowerCamelCase. Unset is nothing.
 */
function enumName<E extends Record<number, string>>(e: E, value: number, prefix: string): string | undefined {
  if (value === 0) return undefined;
  const name = e[value];
  if (name === undefined) return `(unknown ${value})`;
  return name.replace(prefix, "").toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function time(ts: { seconds: bigint; nanos: number } | undefined): string | undefined {
  return ts ? new Date(Number(ts.seconds) * 1000 + ts.nanos / 1e6).toISOString() : undefined;
}

function field(f: IntegrationField): HTMLElement {
  switch (f.field.case) {
    case "existent":
      return h("li", "field existent",
        h("span", "variant", "existent"),
        h("span", "name", f.field.value.fieldName),
        f.field.value.mapToName && ` → ${f.field.value.mapToName}`,
        f.field.value.mapToDisplayName && ` (${f.field.value.mapToDisplayName})`);
    case "mapping":
      return h("li", "field mapping",
        h("span", "variant", "mapping"),
        h("span", "name", f.field.value.mapToName),
        f.field.value.mapToDisplayName && ` (${f.field.value.mapToDisplayName})`,
        f.field.value.prompt && h("span", "prompt", ` “${f.field.value.prompt}”`),
        f.field.value.default && ` default ${f.field.value.default}`);
    default:
      return h("li", "field", "(unknown field variant)");
  }
}

function fields(title: string, list: IntegrationField[]): Child {
  return list.length > 0 && h("div", "fields", h("h4", "", title), h("ul", "", ...list.map(field)));
}

function readObject(o: IntegrationObject): HTMLElement {
  const period = o.backfill?.defaultPeriod;
  return section(`read ${o.objectName}`,
    row("destination", o.destination),
    row("schedule", o.schedule),
    row("map to", [o.mapToName, o.mapToDisplayName && `(${o.mapToDisplayName})`].filter(Boolean).join(" ")),
    row("enabled", enumName(Enablement, o.enabled, "ENABLEMENT_")),
    row("optional fields auto", enumName(OptionalFieldsAuto, o.optionalFieldsAuto, "OPTIONAL_FIELDS_AUTO_")),
    o.backfill && h("div", "backfill", h("h4", "", "backfill"),
      row("days", period?.days), row("full history", period?.fullHistory)),
    o.delivery && h("div", "delivery", h("h4", "", "delivery"),
      row("mode", enumName(DeliveryMode, o.delivery.mode, "DELIVERY_MODE_")), row("page size", o.delivery.pageSize)),
    fields("required fields", o.requiredFields),
    fields("optional fields", o.optionalFields));
}

function subscribeObject(o: IntegrationSubscribeObject): HTMLElement {
  const event = (name: string, e: { enabled: Enablement } | undefined, ...extra: Child[]) =>
    e && h("div", "event", h("h4", "", name), row("enabled", enumName(Enablement, e.enabled, "ENABLEMENT_")), ...extra);
  return section(`subscribe ${o.objectName}`,
    row("destination", o.destination),
    row("inherit fields and mapping", o.inheritFieldsAndMapping),
    event("create", o.createEvent),
    event("update", o.updateEvent,
      row("watch fields", o.updateEvent && enumName(WatchFieldsAuto, o.updateEvent.watchFieldsAuto, "WATCH_FIELDS_AUTO_")),
      row("required watch fields", o.updateEvent?.requiredWatchFields.join(", "))),
    event("delete", o.deleteEvent),
    event("association change", o.associationChangeEvent, row("include full records", o.associationChangeEvent?.includeFullRecords)),
    row("other events", o.otherEvents.join(", ")));
}

function integrationTree(i: Integration): HTMLElement {
  const content = i.latestRevision?.content;
  const all = content?.watchSchema?.allObjects;
  return h("div", "integration",
    h("h2", "", `${i.name} (${i.provider})`),
    row("id", i.id), row("project", i.projectId), row("created", time(i.createTime)), row("updated", time(i.updateTime)),
    i.latestRevision && section("latest revision",
      row("id", i.latestRevision.id), row("spec version", i.latestRevision.specVersion),
      row("created", time(i.latestRevision.createTime)),
      row("display name", content?.displayName), row("module", content?.module)),
    ...(content?.read?.objects ?? []).map(readObject),
    ...(content?.write?.objects ?? []).map((o) => section(`write ${o.objectName}`,
      row("inherit mapping", o.inheritMapping), row("allow any fields", o.valueDefaults?.allowAnyFields))),
    content?.proxy && section("proxy", row("enabled", content.proxy.enabled), row("use module", content.proxy.useModule)),
    ...(content?.subscribe?.objects ?? []).map(subscribeObject),
    content?.watchSchema && section("schema watch",
      row("destination", content.watchSchema.destination), row("schedule", content.watchSchema.schedule),
      row("field created", all?.fieldCreated && enumName(Enablement, all.fieldCreated.enabled, "ENABLEMENT_")),
      row("field deleted", all?.fieldDeleted && enumName(Enablement, all.fieldDeleted.enabled, "ENABLEMENT_")),
      row("field changed", all?.fieldChanged && enumName(Enablement, all.fieldChanged.enabled, "ENABLEMENT_"))));
}

/** codeName gives the wire name of a code: NotFound → not_found. */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

function errorView(err: ConnectError): HTMLElement {
  const d = errorDetails(err);
  return h("div", "error",
    h("h2", "", h("span", "code", codeName(err.code)), " ", h("span", "message", err.rawMessage)),
    d.errorInfo && section("error info", row("reason", d.errorInfo.reason), row("domain", d.errorInfo.domain),
      ...Object.entries(d.errorInfo.metadata).map(([k, v]) => row(k, v))),
    d.problem && section("problem", row("title", d.problem.title), row("status", d.problem.status),
      h("div", "row problem-detail", h("span", "label", "detail"), h("span", "value", d.problem.detail)),
      row("type", d.problem.type), row("request id", d.problem.requestId), row("remedy", d.problem.remedy)),
    d.badRequest && section("bad request",
      h("ul", "", ...d.badRequest.fieldViolations.map((v) => h("li", "violation", `${v.field}: ${v.description}`)))),
    d.retryInfo && section("retry", row("after (s)", d.retryInfo.retryDelay ? Number(d.retryInfo.retryDelay.seconds) : undefined)),
    d.help && section("help", ...d.help.links.map((l) => {
      const a = h("a", "", l.description || l.url) as HTMLAnchorElement;
      a.href = l.url;
      a.rel = "noopener noreferrer";
      return h("div", "row", a);
    })));
}

const form = document.querySelector<HTMLFormElement>("#lookup")!;
const result = document.querySelector<HTMLElement>("#result")!;

let lookups = 0;

/**
 * lookUp gets the integration the form names and shows it, unless another
 * lookup started meanwhile. When it is done, #result's data-for attribute
 * names what it shows ("project/integration").
 */
async function lookUp(): Promise<void> {
  const id = ++lookups;
  const data = new FormData(form);
  const key = String(data.get("key") ?? "");
  const projectIdOrName = String(data.get("project") ?? "");
  const integrationIdOrName = String(data.get("integration") ?? "");
  delete result.dataset.for;
  result.replaceChildren(h("p", "loading", "Loading…"));
  let view: HTMLElement;
  try {
    const { integration } = await client.getIntegration(
      { projectIdOrName, integrationIdOrName },
      { headers: key ? { "x-api-key": key } : {} },
    );
    view = integration ? integrationTree(integration) : h("p", "", "No integration.");
  } catch (err) {
    view = errorView(ConnectError.from(err));
  }
  if (id !== lookups) return;
  result.replaceChildren(view);
  result.dataset.for = `${projectIdOrName}/${integrationIdOrName}`;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  void lookUp();
});
// The form starts with the demo's sample: show it at once.
void lookUp();
