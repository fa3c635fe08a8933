// The Step Details webview (browser code). Every piece of trail content is put on the page
// with textContent or as an attribute value, never as HTML: a tool output may hold markup or
// a prompt injection, and it must stay inert text.
import { formatUsd } from "../shared/pricing";
import type { HostToWebview, RequestBlockView, RequestMessageView, RequestView, RetryView, TimeSpan, SessionHeader, StepDetail, StepDetailsState, StepSummary, ToolCallView, WebviewToHost } from "../shared/protocol";

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}
declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi();
const ROW_HEIGHT = 30;

let header: SessionHeader | undefined;
let steps: StepSummary[] = [];
/** The session on its clock (model calls, tool runs, approval waits), by start. */
let spans: TimeSpan[] = [];
/** The left column: the list of steps, or the session on a time axis. */
let timelineMode: "steps" | "time" = "steps";
let selected = 0;
let detail: StepDetail | undefined;
const fullOutputs = new Map<string, string>();
/** Requests loaded (by llm_call event id), and the Request sections the user opened. */
const requests = new Map<string, RequestView>();
const openRequests = new Set<string>();
const app = document.getElementById("app")!;

type Child = Node | string | null | undefined | false;

/** Creates an element; strings become text nodes, never markup. */
function el(tag: string, props: { class?: string; title?: string; attrs?: Record<string, string> } = {}, ...children: Child[]): HTMLElement {
  const node = document.createElement(tag);
  if (props.class) node.className = props.class;
  if (props.title) node.title = props.title;
  for (const [k, v] of Object.entries(props.attrs ?? {})) node.setAttribute(k, v);
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
  return node;
}

function icon(name: string, cls = ""): HTMLElement {
  return el("span", { class: `codicon codicon-${name} ${cls}`.trim(), attrs: { "aria-hidden": "true" } });
}

function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  return v < 1000 ? `${v} ms` : `${(v / 1000).toFixed(1)} s`;
}

function num(n: number): string {
  return n.toLocaleString("en-US");
}

function post(m: WebviewToHost): void {
  vscode.postMessage(m);
}

// ---- layout -------------------------------------------------------------------------------

let timelineViewport: HTMLElement | undefined;
let timelineInner: HTMLElement | undefined;
let detailPane: HTMLElement | undefined;

let headerElement: HTMLElement | undefined;
let maxDuration = 1;

function renderHeader(): HTMLElement {
  const statusIcon: Record<string, string> = { completed: "pass", error: "error", timeout: "watch", cancelled: "circle-slash", running: "sync~spin" };
  const h = header!;
  return el(
    "header",
    { class: "session-header" },
    el("h1", {}, icon(statusIcon[h.status] ?? "circle-outline", `status-${h.status}`), " ", h.task.split("\n")[0] || h.sessionId),
    el(
      "div",
      { class: "meta" },
      el("span", {}, `${h.status}`),
      el("span", {}, `${h.steps} steps`),
      el("span", {}, `${num(h.inputTokens)} in / ${num(h.outputTokens)} out tokens`),
      h.costUsd !== null ? el("span", { title: "All model calls at their prices (see the model call's cost for where a price comes from)" }, formatUsd(h.costUsd)) : null,
      el("span", { class: h.failedToolCalls ? "failed" : "" }, `${h.failedToolCalls} of ${h.toolCalls} tool calls failed`),
      el("span", {}, h.model ?? ""),
      el("span", { class: "dim" }, h.sessionId),
    ),
  );
}

function renderShell(): void {
  app.replaceChildren();
  if (!header) return;
  maxDuration = steps.reduce((m, s) => Math.max(m, s.durationMs), 1);
  const head = (headerElement = renderHeader());
  timelineViewport = el("div", { class: "timeline", attrs: { role: "listbox", tabindex: "0", "aria-label": "Steps" } });
  timelineInner = el("div", { class: "timeline-inner" });
  timelineViewport.append(timelineInner);
  timelineViewport.addEventListener("scroll", renderTimelineRows);
  timelineViewport.addEventListener("click", (ev) => {
    const row = (ev.target as HTMLElement).closest<HTMLElement>("[data-step]");
    if (row) select(Number(row.dataset.step));
  });
  detailPane = el("section", { class: "detail", attrs: { "aria-label": "Step details" } });
  const modeButton = (mode: "steps" | "time", label: string, codicon: string) => {
    const b = el("button", { class: "link mode", title: label, attrs: { "aria-pressed": String(timelineMode === mode) } }, icon(codicon), ` ${label}`);
    b.addEventListener("click", () => {
      timelineMode = mode;
      for (const other of Array.from(b.parentElement!.children)) other.setAttribute("aria-pressed", String(other === b));
      if (timelineViewport) timelineViewport.scrollTop = 0;
      renderTimelineRows();
      scrollSelectedIntoView();
    });
    return b;
  };
  const modes = el("div", { class: "timeline-modes", attrs: { role: "group", "aria-label": "Show steps as" } }, modeButton("steps", "Steps", "list-ordered"), modeButton("time", "Time axis", "graph-line"));
  app.append(head, el("div", { class: "columns" }, el("div", { class: "timeline-column" }, modes, timelineViewport), detailPane));
  if (searchBar && search !== undefined) app.prepend(searchBar);
  renderTimelineRows();
  scrollSelectedIntoView();
  renderDetail();
}

/** Only the rows in view are in the DOM, so a session of thousands of steps scrolls smoothly. */
function renderTimelineRows(): void {
  if (!timelineViewport || !timelineInner) return;
  if (timelineMode === "time") return renderTimeAxisRows();
  timelineInner.style.height = `${steps.length * ROW_HEIGHT}px`;
  const first = Math.max(0, Math.floor(timelineViewport.scrollTop / ROW_HEIGHT) - 5);
  const count = Math.ceil(timelineViewport.clientHeight / ROW_HEIGHT) + 10;
  const rows: HTMLElement[] = [];
  for (let i = first; i < Math.min(steps.length, first + count); i++) {
    const s = steps[i];
    const bar = el("span", { class: "bar" });
    bar.style.width = `${Math.max(2, Math.round((s.durationMs / maxDuration) * 100))}%`;
    const markers = el("span", { class: "markers" }, ...s.tools.map((t) => icon(t.outcome === "error" ? "error" : t.outcome === "pending" ? "loading~spin" : "pass", `outcome-${t.outcome}`)));
    const row = el(
      "div",
      {
        class: `step-row${s.step === selected ? " selected" : ""}${s.failedToolCalls ? " has-failures" : ""}${search?.steps.has(s.step) ? " has-hits" : ""}`,
        title: `Step ${s.step}: ${ms(s.durationMs)}, ${num(s.inputTokens)} in / ${num(s.outputTokens)} out tokens${s.costUsd !== null ? ` (${formatUsd(s.costUsd)})` : ""}, ${s.tools.map((t) => t.name).join(", ") || "no tool calls"}`,
        attrs: { "data-step": String(s.step), role: "option", "aria-selected": String(s.step === selected) },
      },
      el("span", { class: "step-no" }, String(s.step)),
      el("span", { class: "bar-track" }, bar),
      el("span", { class: "tokens" }, `${num(s.inputTokens + s.outputTokens)}`),
      markers,
    );
    row.style.top = `${i * ROW_HEIGHT}px`;
    rows.push(row);
  }
  timelineInner.replaceChildren(...rows);
}

const SPAN_ROW = 22;

/**
 * The session on a time axis: one row per model call, tool run and approval wait, its bar where
 * it happened between the session's start and its last event. A slow tool or a long wait for
 * approval stands out; a click selects the step.
 */
function renderTimeAxisRows(): void {
  if (!timelineViewport || !timelineInner) return;
  const total = Math.max(1, spans.reduce((m, x) => Math.max(m, x.endMs), 0));
  timelineInner.style.height = `${(spans.length + 1) * SPAN_ROW}px`;
  const first = Math.max(0, Math.floor(timelineViewport.scrollTop / SPAN_ROW) - 5);
  const count = Math.ceil(timelineViewport.clientHeight / SPAN_ROW) + 10;
  const rows: HTMLElement[] = [el("div", { class: "time-scale" }, el("span", {}, "0"), el("span", {}, `+${duration(total)}`))];
  for (let i = first; i < Math.min(spans.length, first + count); i++) {
    const x = spans[i];
    const bar = el("span", { class: `time-bar kind-${x.kind}${x.outcome ? ` outcome-${x.outcome}` : ""}` });
    bar.style.left = `${(x.startMs / total) * 100}%`;
    bar.style.width = `max(2px, ${((x.endMs - x.startMs) / total) * 100}%)`;
    const row = el("div", {
      class: `span-row${x.step === selected ? " selected" : ""}`,
      title: `Step ${x.step}, ${x.label}: from +${duration(x.startMs)}, ${duration(x.endMs - x.startMs)}${x.outcome === "error" ? " (failed)" : ""}`,
      attrs: { "data-step": String(x.step), role: "option", "aria-selected": String(x.step === selected) },
    }, el("span", { class: "step-no" }, String(x.step)), el("span", { class: "span-label" }, x.label), el("span", { class: "time-track" }, bar));
    row.style.top = `${(i + 1) * SPAN_ROW}px`;
    rows.push(row);
  }
  timelineInner.replaceChildren(...rows);
}

function duration(msValue: number): string {
  if (msValue < 1000) return `${Math.round(msValue)} ms`;
  if (msValue < 120_000) return `${(msValue / 1000).toFixed(1)} s`;
  return `${(msValue / 60_000).toFixed(1)} min`;
}

function scrollSelectedIntoView(): void {
  if (!timelineViewport) return;
  if (timelineMode === "time") {
    const i = spans.findIndex((x) => x.step === selected);
    const top = (i + 1) * SPAN_ROW;
    if (i >= 0 && (top < timelineViewport.scrollTop || top + SPAN_ROW > timelineViewport.scrollTop + timelineViewport.clientHeight)) {
      timelineViewport.scrollTop = Math.max(0, top - timelineViewport.clientHeight / 2);
    }
    return;
  }
  const index = steps.findIndex((s) => s.step === selected);
  if (index < 0) return;
  const top = index * ROW_HEIGHT;
  if (top < timelineViewport.scrollTop || top + ROW_HEIGHT > timelineViewport.scrollTop + timelineViewport.clientHeight) {
    timelineViewport.scrollTop = Math.max(0, top - timelineViewport.clientHeight / 2);
  }
}

function select(step: number, fromSearch = false): void {
  if (step === selected || !steps.some((s) => s.step === step)) return;
  if (!fromSearch && search) {
    // Moving by hand: the current hit becomes the first one in the new step.
    const first = search.hits.findIndex((h) => h.step >= step);
    search.index = first < 0 ? 0 : first;
  }
  selected = step;
  detail = undefined;
  saveState();
  renderTimelineRows();
  scrollSelectedIntoView();
  renderDetail();
  post({ type: "selectStep", step });
}

// ---- the selected step --------------------------------------------------------------------

function renderDetail(): void {
  if (!detailPane) return;
  if (!detail || detail.step !== selected) {
    detailPane.replaceChildren(el("p", { class: "empty" }, `Loading step ${selected}…`));
    return;
  }
  const d = detail;
  const parts: HTMLElement[] = [
    el("div", { class: "detail-head" },
      el("h2", {}, `Step ${d.step}`),
      el("span", { class: "nav-hint" }, "↑/↓ or j/k: previous / next step")),
  ];
  if (d.llm) {
    const l = d.llm;
    const block = el("section", { class: "card model" },
      el("h3", {}, icon("sparkle"), " Model call"),
      el("div", { class: "meta" },
        el("span", {}, `latency ${ms(l.latencyMs)}`),
        el("span", {}, `first token ${ms(l.timeToFirstTokenMs)}`),
        el("span", {}, `${num(l.inputTokens)} in / ${num(l.outputTokens)} out tokens`),
        l.cacheReadTokens ? el("span", {}, `${num(l.cacheReadTokens)} cache read`) : null,
        l.cacheWriteTokens ? el("span", {}, `${num(l.cacheWriteTokens)} cache write`) : null,
        l.costUsd !== null ? el("span", { class: "cost", title: `Input, output, cache writes and cache reads each at its price: ${l.priceSource ?? ""}` }, formatUsd(l.costUsd)) : el("span", { class: "dim", title: "This model is not in the price table; add it with the agentAudit.modelPrices setting" }, "no price for this model"),
        l.retries ? el("span", { class: "warn" }, `${l.retries} retries`) : null,
        el("span", { class: "dim" }, `stop: ${l.stopReason ?? "–"}`),
        el("span", { class: "dim" }, l.requestId ?? "")));
    for (const t of l.thinking) {
      block.append(el("details", { class: "thinking", attrs: { open: "" } }, el("summary", {}, "Reasoning (thinking)"), el("pre", { class: "prose" }, t)));
    }
    for (const t of l.texts) block.append(el("pre", { class: "prose text" }, t));
    block.append(renderRequestSection(l.eventId));
    parts.push(block);
  }
  for (const tc of d.toolCalls) parts.push(renderToolCall(tc));
  if (d.next) {
    const link = el("button", { class: "link" }, `Step ${d.next.step}`);
    const step = d.next.step;
    link.addEventListener("click", () => select(step));
    parts.push(el("div", { class: "next-step" }, el("strong", {}, "Next: "), link, ` ${d.next.summary}`));
  }
  if (d.end) {
    parts.push(el("section", { class: `card end end-${d.end.type}` }, el("h3", {}, endTitle(d.end.type)), d.end.message ? el("pre", { class: "prose" }, d.end.message) : null));
  }
  detailPane.replaceChildren(...parts);
  if (search) highlight();
}

// ---- the request a model call sent ------------------------------------------------------

/** Text put on the page per task while a request renders (then the view gets a turn). */
const REQUEST_CHUNK_CHARS = 64_000;
const LONG_TEXT = 20_000;

/**
 * "Request": what the model was given. Loaded from the host when opened (a request can be a
 * megabyte), then rendered about 64 KB of text per task so a long conversation never freezes the view.
 */
function renderRequestSection(eventId: string): HTMLElement {
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

function endTitle(type: string): string {
  return { session_end: "Finished", session_timeout: "Stopped at the step limit", session_cancelled: "Cancelled", session_error: "Error" }[type] ?? type;
}

function renderToolCall(tc: ToolCallView): HTMLElement {
  const outcomeIcon = tc.outcome === "error" ? icon("error", "outcome-error") : tc.outcome === "pending" ? icon("loading~spin") : icon("pass", "outcome-success");
  const card = el("section", { class: `card tool outcome-${tc.outcome}`, attrs: { "data-event": tc.callEventId } },
    el("h3", {}, outcomeIcon, " ", tc.toolName,
      el("span", { class: "meta inline" },
        el("span", {}, ms(tc.executionTimeMs)),
        tc.requiresApproval ? el("span", { class: `badge approval-${tc.approval?.decision ?? "pending"}` }, tc.approval ? tc.approval.decision : "awaiting approval") : null)),
  );
  const button = (label: string, codicon: string, title: string, onClick: () => void) => {
    const b = el("button", { class: "link", title }, icon(codicon), ` ${label}`);
    b.addEventListener("click", onClick);
    return b;
  };
  card.append(
    el(
      "div",
      { class: "actions" },
      button("Retry", "debug-rerun", "Run this tool call again now, under the same approval policy (recorded as tool_retry)", () => post({ type: "retry", eventId: tc.callEventId, edit: false })),
      button("Retry with input…", "edit", "Edit the input, then run it again", () => post({ type: "retry", eventId: tc.callEventId, edit: true })),
      button("Reveal", "go-to-file", "Open the file it touched, or show the command read-only (never run)", () => post({ type: "reveal", eventId: tc.callEventId })),
      button("Copy JSON", "copy", "Copy the tool call's events as JSON", () => post({ type: "copyEvent", eventId: tc.callEventId })),
    ),
  );
  card.append(el("details", { class: "input", attrs: { open: "" } }, el("summary", {}, tc.rawInput !== undefined ? "Input (malformed JSON from the model)" : "Input"),
    el("pre", { class: "code" }, tc.rawInput ?? JSON.stringify(tc.input, null, 2))));
  if (tc.approval) {
    const a = tc.approval;
    card.append(el("div", { class: "approval" },
      el("strong", {}, `${a.decision} `), `by ${a.approverId}, asked ${a.askedAt.replace("T", " ").slice(0, 19)}, answered ${a.answeredAt.replace("T", " ").slice(0, 19)}`,
      a.reason ? el("div", { class: "dim" }, `reason: ${a.reason}`) : null,
      a.editedInput !== undefined ? el("details", {}, el("summary", {}, "Edited input (what ran)"), el("pre", { class: "code" }, JSON.stringify(a.editedInput, null, 2))) : null));
  }
  if (tc.error) {
    const e = tc.error;
    const detailBits: HTMLElement[] = [];
    const d = e.detail ?? {};
    if (d.exit_code !== undefined) detailBits.push(el("div", {}, el("strong", {}, "exit code "), String(d.exit_code)));
    if (typeof d.path === "string") detailBits.push(el("div", {}, el("strong", {}, "path "), d.path));
    if (typeof d.stderr === "string" && d.stderr) detailBits.push(el("div", {}, el("strong", {}, "stderr"), el("pre", { class: "code stderr" }, d.stderr)));
    if (typeof d.stdout === "string" && d.stdout) detailBits.push(el("div", {}, el("strong", {}, "stdout"), el("pre", { class: "code" }, d.stdout)));
    card.append(el("div", { class: "error" }, el("div", {}, icon("error", "outcome-error"), " ", el("span", { class: "error-type" }, e.type), " ", e.message), ...detailBits));
  }
  if (tc.output !== undefined) {
    const full = fullOutputs.get(tc.resultEventId ?? "");
    const pre = el("pre", { class: "code output" }, full ?? tc.output);
    const out = el("details", { class: "output", attrs: { open: "" } }, el("summary", {}, "Output"), pre);
    if (tc.outputPreview && full === undefined && tc.resultEventId) {
      const more = el("button", { class: "link" }, "Show all");
      const id = tc.resultEventId;
      more.addEventListener("click", () => post({ type: "showFullOutput", eventId: id }));
      out.append(more);
    }
    if (tc.truncatedInTrail) {
      out.append(el("div", { class: "dim" }, `The tool produced ${num(tc.outputBytes ?? 0)} bytes; the model and the trail got the first part. SHA-256 of all of it: ${tc.outputSha256 ?? "?"}`));
    }
    card.append(out);
  }
  if (tc.similar) {
    const list = el("ul", { class: "similar" });
    for (const f of tc.similar.items) {
      const link = el("button", { class: "link", title: f.task }, `${f.time.replace("T", " ").slice(0, 16)} · step ${f.step} · ${f.task.split("\n")[0].slice(0, 60)}`);
      link.addEventListener("click", () => post({ type: "openSession", sessionId: f.sessionId, step: f.step }));
      list.append(el("li", {}, link));
    }
    card.append(el("details", { class: "similar-block" }, el("summary", {}, `${tc.similar.count} similar failure${tc.similar.count > 1 ? "s" : ""} (${tc.toolName}, ${tc.error?.type}) in other sessions`), list));
  }
  for (const r of tc.retries) card.append(renderRetry(tc, r));
  return card;
}

/** A retry beside the original: outcome, and what changed in the input and the output. */
function renderRetry(tc: ToolCallView, r: RetryView): HTMLElement {
  const side = (title: string, outcome: string, input: unknown, output: string | undefined, error: ToolCallView["error"]) =>
    el("div", { class: `side outcome-${outcome}` },
      el("h4", {}, icon(outcome === "error" ? "error" : "pass", `outcome-${outcome}`), ` ${title}`),
      el("pre", { class: "code" }, JSON.stringify(input, null, 2)),
      error ? el("div", { class: "error" }, icon("error", "outcome-error"), " ", el("span", { class: "error-type" }, error.type), " ", error.message, typeof error.detail?.stderr === "string" && error.detail.stderr ? el("pre", { class: "code stderr" }, error.detail.stderr) : null) : null,
      output !== undefined ? el("pre", { class: "code output" }, output) : null);
  const inputChanged = JSON.stringify(r.input) !== JSON.stringify(tc.input);
  return el("section", { class: "retry", attrs: { "data-event": r.eventId } },
    el("h4", {}, icon("debug-rerun"), ` Retry at ${r.time.replace("T", " ").slice(0, 19)}: ${r.outcome === "success" ? "succeeded" : `failed (${r.error?.type})`}`,
      el("span", { class: "meta inline" }, el("span", {}, ms(r.executionTimeMs)), inputChanged ? el("span", { class: "badge" }, "input edited") : null, r.approval ? el("span", { class: "dim" }, `${r.approval.decision} by ${r.approval.approverId}`) : null)),
    el("div", { class: "side-by-side" },
      side("Original", tc.outcome, tc.input, tc.output, tc.error),
      side("Retry", r.outcome, r.input, r.output, r.error)));
}

// ---- find in the session (Ctrl/Cmd+F) ---------------------------------------------------

interface SearchState {
  text: string;
  /** Every hit in order: its step and which occurrence in that step. */
  hits: { step: number; nth: number }[];
  /** Steps with hits (for the timeline's markers). */
  steps: Set<number>;
  index: number;
}

let search: SearchState | undefined;
let searchBar: HTMLElement | undefined;
let searchInput: HTMLInputElement | undefined;
let searchStatus: HTMLElement | undefined;
let searchTimer: ReturnType<typeof setTimeout> | undefined;

function openSearch(): void {
  if (!searchBar) {
    searchInput = el("input", { class: "search-input", attrs: { type: "text", placeholder: "Find in all steps", "aria-label": "Find in all steps of the session" } }) as HTMLInputElement;
    searchStatus = el("span", { class: "search-status dim" });
    const button = (label: string, codicon: string, onClick: () => void) => {
      const b = el("button", { class: "link", title: label, attrs: { "aria-label": label } }, icon(codicon));
      b.addEventListener("click", onClick);
      return b;
    };
    searchBar = el("div", { class: "search-bar", attrs: { role: "search" } }, searchInput, searchStatus,
      button("Previous (Shift+Enter)", "arrow-up", () => moveHit(-1)), button("Next (Enter)", "arrow-down", () => moveHit(1)), button("Close (Escape)", "close", closeSearch));
    searchInput.addEventListener("input", () => {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => {
        const text = searchInput!.value;
        if (text) post({ type: "search", text });
        else clearSearch();
      }, 200);
    });
    searchInput.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter") moveHit(ev.shiftKey ? -1 : 1);
      else if (ev.key === "Escape") closeSearch();
      else return;
      ev.preventDefault();
    });
  }
  if (!searchBar.isConnected) app.prepend(searchBar);
  searchInput!.focus();
  searchInput!.select();
}

function clearSearch(): void {
  search = undefined;
  if (searchStatus) searchStatus.textContent = "";
  renderTimelineRows();
  highlight();
}

function closeSearch(): void {
  clearSearch();
  searchBar?.remove();
  timelineViewport?.focus();
}

function onSearchResults(text: string, hits: { step: number; count: number }[]): void {
  if (!searchInput || searchInput.value !== text) return; // typed on since
  const flat = hits.flatMap((h) => Array.from({ length: h.count }, (_, nth) => ({ step: h.step, nth })));
  // Start at the first hit from the step on display onwards.
  const from = flat.findIndex((h) => h.step >= selected);
  search = { text, hits: flat, steps: new Set(hits.map((h) => h.step)), index: from < 0 ? 0 : from };
  renderTimelineRows();
  showHit();
}

function moveHit(delta: number): void {
  if (!search?.hits.length) return;
  search.index = (search.index + delta + search.hits.length) % search.hits.length;
  showHit();
}

function showHit(): void {
  if (!search || !searchStatus) return;
  const n = search.hits.length;
  searchStatus.textContent = n ? `${search.index + 1} of ${n} in ${search.steps.size} step${search.steps.size === 1 ? "" : "s"}` : "no results";
  const hit = search.hits[search.index];
  if (!hit) return highlight();
  if (hit.step !== selected) select(hit.step, true);
  else highlight();
}

/**
 * Marks every occurrence in the step on display and scrolls to the current one. Text nodes are
 * split and wrapped in <mark>: the text stays text. The count in the stored JSON and on screen
 * can differ (keys, escaping); the current hit is the nth mark on screen, or the last.
 */
function highlight(): void {
  if (!detailPane) return;
  for (const m of Array.from(detailPane.querySelectorAll("mark.hit"))) m.replaceWith(document.createTextNode(m.textContent ?? ""));
  detailPane.normalize();
  if (!search || !detail || detail.step !== selected) return;
  const needle = search.text.toLowerCase();
  const walker = document.createTreeWalker(detailPane, NodeFilter.SHOW_TEXT);
  const nodes: Text[] = [];
  for (let n = walker.nextNode(); n; n = walker.nextNode()) nodes.push(n as Text);
  const marks: HTMLElement[] = [];
  for (let node of nodes) {
    let at = node.data.toLowerCase().indexOf(needle);
    while (at >= 0) {
      const hit = node.splitText(at);
      node = hit.splitText(needle.length);
      const mark = el("mark", { class: "hit" }, hit.data);
      hit.replaceWith(mark);
      marks.push(mark);
      at = node.data.toLowerCase().indexOf(needle);
    }
  }
  const current = search.hits[search.index];
  const target = current?.step === selected ? marks[Math.min(current.nth, marks.length - 1)] : undefined;
  if (target) {
    target.classList.add("current");
    for (let d = target.closest("details"); d; d = d.parentElement?.closest("details") ?? null) d.setAttribute("open", "");
    target.scrollIntoView({ block: "center" });
  }
}

// ---- messages and keys --------------------------------------------------------------------

function saveState(): void {
  const s = vscode.getState() as StepDetailsState | undefined;
  if (s) vscode.setState({ ...s, step: selected });
}

window.addEventListener("message", (ev: MessageEvent<HostToWebview>) => {
  const m = ev.data;
  switch (m.type) {
    case "session":
      if (header && header.sessionId !== m.header.sessionId) {
        search = undefined;
        searchBar?.remove();
      }
      header = m.header;
      steps = m.steps;
      spans = m.spans;
      selected = m.selectedStep;
      vscode.setState(m.state);
      renderShell();
      break;
    case "steps":
      // New or changed steps of the session on display: merge them, keep the rest as it is.
      header = m.header;
      for (const s of m.steps) {
        const last = steps[steps.length - 1];
        if (!last || last.step < s.step) steps.push(s);
        else {
          const i = steps.findIndex((x) => x.step >= s.step);
          if (steps[i].step === s.step) steps[i] = s;
          else steps.splice(i, 0, s);
        }
        maxDuration = Math.max(maxDuration, s.durationMs);
      }
      if (m.spans.length || m.steps.length) {
        const touched = new Set(m.steps.map((x) => x.step));
        spans = spans.filter((x) => !touched.has(x.step)).concat(m.spans).sort((a, b) => a.startMs - b.startMs);
      }
      if (headerElement) {
        const fresh = renderHeader();
        headerElement.replaceWith(fresh);
        headerElement = fresh;
      }
      renderTimelineRows();
      break;
    case "stepDetail":
      if (m.detail.step === selected) {
        detail = m.detail;
        renderDetail();
      }
      break;
    case "searchResults":
      onSearchResults(m.text, m.hits);
      break;
    case "request": {
      requests.set(m.request.eventId, m.request);
      for (const oldest of requests.keys()) {
        if (requests.size <= 20) break;
        requests.delete(oldest);
      }
      const body = document.querySelector<HTMLElement>(`[data-request="${CSS.escape(m.request.eventId)}"] .request-body`);
      if (body) renderRequest(body, m.request);
      break;
    }
    case "fullOutput":
      fullOutputs.set(m.eventId, m.text);
      renderDetail();
      break;
    case "error":
      app.replaceChildren(el("p", { class: "error" }, m.message));
      break;
  }
});

window.addEventListener("keydown", (ev) => {
  if ((ev.ctrlKey || ev.metaKey) && ev.key.toLowerCase() === "f") {
    ev.preventDefault();
    openSearch();
    return;
  }
  if (ev.key === "F3" && search) {
    ev.preventDefault();
    moveHit(ev.shiftKey ? -1 : 1);
    return;
  }
  const target = ev.target as HTMLElement;
  if (target.closest("input, textarea")) return;
  const i = steps.findIndex((s) => s.step === selected);
  if (i < 0) return;
  let next: number | undefined;
  if (ev.key === "ArrowDown" || ev.key === "j") next = i + 1;
  else if (ev.key === "ArrowUp" || ev.key === "k") next = i - 1;
  else if (ev.key === "Home") next = 0;
  else if (ev.key === "End") next = steps.length - 1;
  if (next === undefined || next < 0 || next >= steps.length) return;
  ev.preventDefault();
  select(steps[next].step);
});

post({ type: "ready" });
