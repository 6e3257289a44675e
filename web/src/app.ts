// The page the server serves at /: browse projects → integrations →
// installations over Connect-Web, or look an integration up by name, and show
// what was picked as a readable tree, or show the error as its code, message
// and details. Every value is set as text, never as HTML.
import { getOption, toJson, type DescEnum } from "@bufbuild/protobuf";
import { isReflectMessage, reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { Code, ConnectError, createClient, type CallOptions } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import {
  DeliveryMode,
  Enablement,
  InstallationHealthStatusSchema,
  InstallationSchema,
  InstallationService,
  IntegrationService,
  OptionalFieldsAuto,
  ProjectService,
  WatchFieldsAuto,
  errorDetails,
  rest_value,
  type Installation,
  type Integration,
  type IntegrationField,
  type IntegrationObject,
  type IntegrationSubscribeObject,
  type Project,
} from "@ampersand-connect/client";

const transport = createConnectTransport({ baseUrl: window.location.origin });
const projects = createClient(ProjectService, transport);
const integrations = createClient(IntegrationService, transport);
const installations = createClient(InstallationService, transport);

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

/** node is a titled part of a tree, its heading at level (2 to 6). */
function node(level: number, title: string, ...children: Child[]): HTMLElement {
  return h("section", "node", h(`h${Math.min(level, 6)}`, "", title), ...children);
}

function section(title: string, ...children: Child[]): HTMLElement {
  return node(3, title, ...children);
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

/**
 * restValue shows an enum value as the REST API spells it, from the schema's
 * rest_value option ("oauth2/authorizationCode"), else its proto name.
 */
function restValue(e: DescEnum, value: number): string {
  const v = e.value[value];
  if (v === undefined) return `(unknown ${value})`;
  return getOption(v, rest_value) || v.name;
}

/** words turns a JSON field name into words: healthStatus → health status. */
function words(jsonName: string): string {
  return jsonName.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
}

function scalarText(v: unknown, e: DescEnum | undefined): string {
  if (e && typeof v === "number") return restValue(e, v);
  if (v instanceof Uint8Array) return `(${v.length} bytes)`;
  return String(v);
}

/**
 * valueTree shows one value: a message as a titled part of the tree (a
 * google.protobuf type, such as a Timestamp or a Value, as its JSON), anything
 * else as a row.
 */
function valueTree(label: string, v: unknown, e: DescEnum | undefined, level: number): Child {
  if (!isReflectMessage(v)) return row(label, scalarText(v, e));
  if (v.desc.typeName.startsWith("google.protobuf.")) {
    const json = toJson(v.desc, v.message);
    return row(label, typeof json === "string" ? json : JSON.stringify(json));
  }
  return node(level, label, ...messageTree(v, level + 1));
}

/**
 * messageTree shows every set field of any message, in the schema's order:
 * scalars and enums as rows, messages and maps as titled parts, a list of
 * scalars on one row and a list of messages as one part per element.
 */
function messageTree(m: ReflectMessage, level: number): Child[] {
  return m.fields.filter((f) => m.isSet(f)).flatMap((f): Child[] => {
    const label = words(f.jsonName);
    switch (f.fieldKind) {
      case "list": {
        const items = [...m.get(f)];
        if (f.listKind !== "message") return [row(label, items.map((x) => scalarText(x, f.enum)).join(", "))];
        return items.map((x, n) => valueTree(`${label} ${n + 1}`, x, undefined, level));
      }
      case "map":
        return [node(level, label, ...[...m.get(f)].map(([k, x]) => valueTree(String(k), x, f.enum, level + 1)))];
      default:
        return [valueTree(label, m.get(f), f.enum, level)];
    }
  });
}

function installationTree(i: Installation): HTMLElement {
  return h("div", "installation", h("h2", "", `installation ${i.id}`), ...messageTree(reflect(InstallationSchema, i), 3));
}

/** codeName gives the wire name of a code: NotFound → not_found. */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/** errorView shows an error, its heading at level (2 to 5). */
function errorView(err: ConnectError, level = 2): HTMLElement {
  const d = errorDetails(err);
  const part = (title: string, ...children: Child[]) => node(level + 1, title, ...children);
  return h("div", "error",
    h(`h${level}`, "", h("span", "code", codeName(err.code)), " ", h("span", "message", err.rawMessage)),
    d.errorInfo && part("error info", row("reason", d.errorInfo.reason), row("domain", d.errorInfo.domain),
      ...Object.entries(d.errorInfo.metadata).map(([k, v]) => row(k, v))),
    d.problem && part("problem", row("title", d.problem.title), row("status", d.problem.status),
      h("div", "row problem-detail", h("span", "label", "detail"), h("span", "value", d.problem.detail)),
      row("type", d.problem.type), row("request id", d.problem.requestId), row("remedy", d.problem.remedy)),
    d.badRequest && part("bad request",
      h("ul", "", ...d.badRequest.fieldViolations.map((v) => h("li", "violation", `${v.field}: ${v.description}`)))),
    d.retryInfo && part("retry", row("after (s)", d.retryInfo.retryDelay ? Number(d.retryInfo.retryDelay.seconds) : undefined)),
    d.help && part("help", ...d.help.links.map((l) => {
      const a = h("a", "", l.description || l.url) as HTMLAnchorElement;
      a.href = l.url;
      a.rel = "noopener noreferrer";
      return h("div", "row", a);
    })));
}

/**
 * Region is a part of the page that shows the answer of one call at a time.
 * When it shows an answer or an error, its element's data-for attribute names
 * what it shows; while a call runs, it has none and is aria-busy.
 */
class Region {
  private calls = 0;

  constructor(
    readonly el: HTMLElement,
    private readonly errorLevel: number,
  ) {}

  /**
   * load shows "Loading…", then what show makes of call's answer, or the
   * error. An answer that a later load or clear overtook is dropped.
   */
  async load<T>(key: string, call: () => Promise<T>, show: (answer: T) => Child): Promise<void> {
    const id = ++this.calls;
    delete this.el.dataset.for;
    this.el.setAttribute("aria-busy", "true");
    this.el.replaceChildren(h("p", "loading", "Loading…"));
    let view: Child;
    try {
      view = show(await call());
    } catch (err) {
      view = errorView(ConnectError.from(err), this.errorLevel);
    }
    if (id !== this.calls) return;
    this.el.replaceChildren(...(view ? [view] : []));
    this.el.removeAttribute("aria-busy");
    this.el.dataset.for = key;
  }

  /** clear shows a hint and drops the answer of a call still running. */
  clear(hint: string): void {
    ++this.calls;
    delete this.el.dataset.for;
    this.el.removeAttribute("aria-busy");
    this.el.replaceChildren(h("p", "hint", hint));
  }
}

const form = document.querySelector<HTMLFormElement>("#lookup")!;
const result = new Region(document.querySelector<HTMLElement>("#result")!, 2);
const projectList = new Region(document.querySelector<HTMLElement>("#projects")!, 3);
const integrationList = new Region(document.querySelector<HTMLElement>("#integrations")!, 3);
const installationList = new Region(document.querySelector<HTMLElement>("#installations")!, 3);

/** options sends the form's API key, if it has one. */
function options(): CallOptions {
  const key = String(new FormData(form).get("key") ?? "");
  return { headers: key ? { "x-api-key": key } : {} };
}

/**
 * choices lists what a call returned as buttons, each with its ID as its
 * value; pressing one marks it as the current choice and calls pick.
 */
function choices<T>(items: T[], none: string, id: (item: T) => string, label: (item: T) => Child[], pick: (item: T) => void): Child {
  if (items.length === 0) return h("p", "hint", none);
  return h("ul", "choices", ...items.map((item) => {
    const button = h("button", "choice", ...label(item)) as HTMLButtonElement;
    button.type = "button";
    button.value = id(item);
    button.addEventListener("click", () => {
      for (const other of button.closest("ul")!.querySelectorAll("button")) other.removeAttribute("aria-current");
      button.setAttribute("aria-current", "true");
      pick(item);
    });
    return h("li", "", button);
  }));
}

const detail = (text: string | undefined): Child => text && h("span", "detail", text);

/** listProjects shows the projects; picking one lists its integrations. */
function listProjects(): void {
  integrationList.clear("Pick a project.");
  installationList.clear("Pick an integration.");
  void projectList.load("projects", () => projects.listProjects({}, options()), ({ projects }) =>
    choices(projects, "No projects.", (p) => p.id, (p) => [p.name, detail(p.appName)], pickProject));
}

function pickProject(p: Project): void {
  const project = p.name || p.id;
  installationList.clear("Pick an integration.");
  void integrationList.load(project, () => integrations.listIntegrations({ projectIdOrName: project }, options()),
    ({ integrations }) => choices(integrations, "No integrations.", (i) => i.id, (i) => [i.name, detail(i.provider)],
      (i) => pickIntegration(project, i)));
}

/**
 * pickIntegration shows the integration and lists its installations; the
 * lookup form then names it too.
 */
function pickIntegration(project: string, i: Integration): void {
  const at = `${project}/${i.name}`;
  form.querySelector<HTMLInputElement>("#project")!.value = project;
  form.querySelector<HTMLInputElement>("#integration")!.value = i.name;
  void result.load(at, () => integrations.getIntegration({ projectIdOrName: project, integrationIdOrName: i.id }, options()),
    ({ integration }) => integration ? integrationTree(integration) : h("p", "", "No integration."));
  void installationList.load(at, () => installations.listInstallations({ projectIdOrName: project, integrationId: i.id }, options()),
    ({ installations }) => choices(installations, "No installations.", (x) => x.id,
      (x) => [x.id, detail([x.group?.groupRef, x.healthStatus && restValue(InstallationHealthStatusSchema, x.healthStatus)].filter(Boolean).join(", "))],
      (x) => pickInstallation(project, i, x)));
}

function pickInstallation(project: string, i: Integration, x: Installation): void {
  void result.load(`${project}/${i.name}/${x.id}`,
    () => installations.getInstallation({ projectIdOrName: project, integrationId: i.id, installationId: x.id }, options()),
    ({ installation }) => installation ? installationTree(installation) : h("p", "", "No installation."));
}

/**
 * lookUp gets the integration the form names and shows it; #result's
 * data-for attribute then names it ("project/integration").
 */
function lookUp(): void {
  const data = new FormData(form);
  const projectIdOrName = String(data.get("project") ?? "");
  const integrationIdOrName = String(data.get("integration") ?? "");
  void result.load(`${projectIdOrName}/${integrationIdOrName}`,
    () => integrations.getIntegration({ projectIdOrName, integrationIdOrName }, options()),
    ({ integration }) => integration ? integrationTree(integration) : h("p", "", "No integration."));
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  lookUp();
});
document.querySelector("#list-projects")!.addEventListener("click", listProjects);
// The form starts with the demo's sample: show it at once, and the projects
// to browse.
lookUp();
listProjects();
