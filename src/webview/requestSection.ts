// The Request section of a model call in Step Details: what the model was given.
import type { RequestBlockView, RequestMessageView, RequestView } from "../shared/protocol";
import { el, icon, num, post } from "./dom";

/** Requests loaded (by llm_call event id; the last 20), and the Request sections the user opened. */
const requests = new Map<string, RequestView>();
const openRequests = new Set<string>();

/** Text put on the page per task while a request renders (then the view gets a turn). */
const REQUEST_CHUNK_CHARS = 64_000;
const LONG_TEXT = 20_000;

/**
 * "Request": what the model was given. Loaded from the host when opened (a request can be a
 * megabyte), then rendered about 64 KB of text per task so a long conversation never freezes the view.
 */
export function renderRequestSection(eventId: string): HTMLElement {
  const body = el("div", { class: "request-body" });
  const section = el("details", { class: "request", attrs: { "data-request": eventId } }, el("summary", {}, "Request: what the model was given"), body);
  if (openRequests.has(eventId)) section.setAttribute("open", "");
  const fill = () => {
    const r = requests.get(eventId);
    if (r) renderRequest(body, r);
    else {
      body.replaceChildren(el("p", { class: "empty" }, "Loading the request…"));
      post({ type: "loadRequest", eventId });
    }
  };
  section.addEventListener("toggle", () => {
    if ((section as HTMLDetailsElement).open) {
      openRequests.add(eventId);
      if (!body.childElementCount || !requests.has(eventId)) fill();
    } else openRequests.delete(eventId);
  });
  if (openRequests.has(eventId)) fill();
  return section;
}

function renderRequest(body: HTMLElement, r: RequestView): void {
  const fresh = r.messages.filter((m) => m.isNew).length;
  const parts: HTMLElement[] = [
    el("div", { class: "meta" }, el("span", {}, r.model ?? ""), el("span", {}, `max ${num(r.maxTokens ?? 0)} tokens`), el("span", {}, `${r.messages.length} messages, ${fresh} new in this call`)),
  ];
  if (r.error) parts.push(el("div", { class: "error" }, icon("error", "outcome-error"), " ", r.error));
  if (r.systemPrompt) {
    parts.push(el("details", { class: "system-prompt" }, el("summary", {}, `System prompt · sha256 ${r.systemPrompt.hash.slice(0, 12)}…`), longText("pre", "prose", r.systemPrompt.text)));
  }
  if (r.tools) {
    parts.push(el("details", { class: "tools" }, el("summary", {}, `Tools offered (${r.tools.names.length}): ${r.tools.names.join(", ")}`), longText("pre", "code", r.tools.json)));
  }
  const list = el("div", { class: "messages" });
  parts.push(list);
  body.replaceChildren(...parts);
  const chunk = (from: number) => {
    if (!list.isConnected && from > 0) return; // the view moved on
    let i = from;
    for (let chars = 0; i < r.messages.length && (i === from || chars < REQUEST_CHUNK_CHARS); i++) {
      list.append(renderMessage(r.messages[i]));
      chars += r.messages[i].blocks.reduce((n, b) => n + Math.min(b.text.length, LONG_TEXT), 0);
    }
    if (i < r.messages.length) setTimeout(() => chunk(i), 0);
  };
  chunk(0);
}

function renderMessage(m: RequestMessageView): HTMLElement {
  return el("section", { class: `msg role-${m.role}${m.isNew ? " new" : ""}`, attrs: { "data-index": String(m.index) } },
    el("h4", {}, `${m.index + 1}. ${m.role}`, m.isNew ? el("span", { class: "badge" }, "new in this call") : null),
    ...m.blocks.map(renderBlock));
}

function renderBlock(b: RequestBlockView): HTMLElement {
  const label =
    b.kind === "tool_result" ? [icon("tools"), ` Tool result${b.name ? ` from ${b.name}` : ""}: text from outside the conversation${b.isError ? " (error)" : ""}`]
    : b.kind === "tool_use" ? [icon("symbol-method"), ` Tool call: ${b.name ?? ""}`]
    : b.kind === "thinking" ? [icon("lightbulb"), " Thinking"]
    : b.source === "user" ? [icon("account"), " The user's words"]
    : b.source === "model" ? [icon("sparkle"), " The model's text"]
    : [icon("question"), " Other"];
  return el("div", { class: `block kind-${b.kind} source-${b.source}` }, el("div", { class: "block-label" }, ...label), longText("pre", b.kind === "tool_use" ? "code" : "prose", b.text));
}

/** Text as text; past LONG_TEXT characters, the rest on request. */
function longText(tag: string, cls: string, text: string): HTMLElement {
  if (text.length <= LONG_TEXT) return el(tag, { class: cls }, text);
  const pre = el(tag, { class: cls }, text.slice(0, LONG_TEXT));
  const more = el("button", { class: "link" }, `Show all ${num(text.length)} characters`);
  more.addEventListener("click", () => {
    pre.textContent = text;
    more.remove();
  });
  return el("div", {}, pre, more);
}


/** A request arrived from the host: keep it (the last 20) and show it if its section is on screen. */
export function onRequest(r: RequestView): void {
  requests.set(r.eventId, r);
  for (const oldest of requests.keys()) {
    if (requests.size <= 20) break;
    requests.delete(oldest);
  }
  const body = document.querySelector<HTMLElement>(`[data-request="${CSS.escape(r.eventId)}"] .request-body`);
  if (body) renderRequest(body, r);
}
