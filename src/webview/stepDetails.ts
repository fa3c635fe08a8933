// The Step Details webview (browser code). Every piece of trail content is put on the page
// with textContent or as an attribute value, never as HTML: a tool output may hold markup or
// a prompt injection, and it must stay inert text.
import { formatUsd } from "../shared/usd";
import { anyHidden, revealHidden } from "../shared/hiddenText";
import type { HostToWebview, RetryView, SessionHeader, StepDetail, StepDetailsState, StepSummary, TimeSpan, ToolCallView } from "../shared/protocol";
import { el, icon, ms, num, post, vscode } from "./dom";
import { highlight, initFind, moveHit, onManualSelect, onSearchResults, openSearch, reattachFind, resetFind, searching, stepHasHits } from "./findInSession";
import { onRequest, renderRequestSection } from "./requestSection";
import { renderTimeAxis, SPAN_ROW, timeAxisTop } from "./timeAxis";

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
const app = document.getElementById("app")!;

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
      el("span", {}, `${h.steps} step${h.steps === 1 ? "" : "s"}`),
      // Where the end is shown, so an error is never out of sight: its message is in that step.
      h.endedIn && h.endedIn.type !== "session_end" ? endedInLink(h.endedIn) : null,
      el("span", {}, `${num(h.inputTokens)} in / ${num(h.outputTokens)} out tokens`),
      h.costUsd !== null ? el("span", { title: "All model calls at their prices (see the model call's cost for where a price comes from)" }, formatUsd(h.costUsd)) : null,
      el("span", { class: h.failedToolCalls ? "failed" : "" }, `${h.failedToolCalls} of ${h.toolCalls} tool calls failed`),
      el("span", {}, h.model ?? ""),
      el("span", { class: "dim" }, h.sessionId),
    ),
    h.receivedFrom
      ? el("p", { class: "received" }, icon("radio-tower"), ` Recorded from ${h.receivedFrom} ${h.receivedVia ?? ""}: not by Agent Audit's own agent. Times are the sender's; each event keeps its time of receipt.`)
      : null,
  );
}

function endedInLink(end: { type: string; step: number }): HTMLElement {
  const link = el("button", { class: "link ended-in failed", title: "Show the step where the session ended" }, `${endTitle(end.type)} in step ${end.step}`);
  link.addEventListener("click", () => select(end.step));
  return link;
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
  reattachFind();
  renderTimelineRows();
  scrollSelectedIntoView();
  renderDetail();
}

/** Only the rows in view are in the DOM, so a session of thousands of steps scrolls smoothly. */
function renderTimelineRows(): void {
  if (!timelineViewport || !timelineInner) return;
  if (timelineMode === "time") return renderTimeAxis(timelineViewport, timelineInner, spans, selected);
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
        class: `step-row${s.step === selected ? " selected" : ""}${s.failedToolCalls ? " has-failures" : ""}${stepHasHits(s.step) ? " has-hits" : ""}`,
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

function scrollSelectedIntoView(): void {
  if (!timelineViewport) return;
  if (timelineMode === "time") {
    const top = timeAxisTop(spans, selected);
    if (top >= 0 && (top < timelineViewport.scrollTop || top + SPAN_ROW > timelineViewport.scrollTop + timelineViewport.clientHeight)) {
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
  if (!fromSearch) onManualSelect(step);
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
      block.append(el("details", { class: "thinking", attrs: { open: "" } }, el("summary", {}, "Reasoning (thinking)"), shownPre("prose", t)));
    }
    for (const t of l.texts) block.append(shownPre("prose text", t));
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
    parts.push(el("section", { class: `card end end-${d.end.type}` }, el("h3", {}, endTitle(d.end.type)), d.end.message ? shownPre("prose", d.end.message) : null));
  }
  detailPane.replaceChildren(...parts);
  if (searching()) highlight();
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
  // JSON already writes a control character as an escape (\r, \u001b); a bidi override or a
  // zero-width space it leaves as is. Either way the badge says the input holds one.
  const input = revealHidden(tc.rawInput ?? JSON.stringify(tc.input, null, 2));
  card.append(el("details", { class: "input", attrs: { open: "" } }, el("summary", {}, tc.rawInput !== undefined ? "Input (malformed JSON from the model)" : "Input", hiddenBadge(input.hidden || anyHidden(tc.input))),
    el("pre", { class: "code" }, input.text)));
  if (tc.approval) {
    const a = tc.approval;
    card.append(el("div", { class: "approval" },
      el("strong", {}, `${a.decision} `), `by ${a.approverId}, asked ${a.askedAt.replace("T", " ").slice(0, 19)}, answered ${a.answeredAt.replace("T", " ").slice(0, 19)}`,
      a.reason ? el("div", { class: "dim" }, `reason: ${a.reason}`) : null,
      a.editedInput !== undefined ? el("details", {}, el("summary", {}, "Edited input (what ran)"), el("pre", { class: "code" }, revealHidden(JSON.stringify(a.editedInput, null, 2)).text)) : null));
  }
  if (tc.error) {
    const e = tc.error;
    const detailBits: HTMLElement[] = [];
    const d = e.detail ?? {};
    if (d.exit_code !== undefined) detailBits.push(el("div", {}, el("strong", {}, "exit code "), String(d.exit_code)));
    if (typeof d.path === "string") detailBits.push(el("div", {}, el("strong", {}, "path "), d.path));
    if (typeof d.stderr === "string" && d.stderr) detailBits.push(el("div", {}, el("strong", {}, "stderr"), shownPre("code stderr", d.stderr)));
    if (typeof d.stdout === "string" && d.stdout) detailBits.push(el("div", {}, el("strong", {}, "stdout"), shownPre("code", d.stdout)));
    card.append(el("div", { class: "error" }, el("div", {}, icon("error", "outcome-error"), " ", el("span", { class: "error-type" }, e.type), " ", e.message), ...detailBits));
  }
  if (tc.output !== undefined) {
    const full = fullOutputs.get(tc.resultEventId ?? "");
    const shown = revealHidden(full ?? tc.output);
    const pre = el("pre", { class: "code output" }, shown.text);
    const out = el("details", { class: "output", attrs: { open: "" } }, el("summary", {}, "Output", hiddenBadge(shown.hidden)), pre);
    if (tc.outputPreview && full === undefined && tc.resultEventId) {
      const more = el("button", { class: "link" }, "Show all");
      const id = tc.resultEventId;
      more.addEventListener("click", () => post({ type: "showFullOutput", eventId: id }));
      out.append(more);
    }
    if (tc.truncatedInTrail) {
      out.append(el("div", { class: "dim" }, `The tool produced ${num(tc.outputBytes ?? 0)} bytes; the model and the trail got the first part (output_sha256: ${tc.outputSha256 ?? "?"}, of the part kept, after redaction)`));
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

/**
 * Marks a block whose text held hidden characters (controls, bidi overrides, zero-width):
 * they are shown escaped, since a bidi override would reorder what is read and a zero-width
 * or control character would not show at all.
 */
function hiddenBadge(hidden: boolean): HTMLElement | null {
  return hidden ? el("span", { class: "badge hidden-chars", title: "This text contains hidden control characters (bidi overrides, zero-width, escapes); they are shown escaped as \\x1b, \\u202e…" }, "hidden characters shown escaped") : null;
}

/** A block of trail text, hidden characters escaped, with the badge above it when it had any. */
function shownPre(cls: string, text: string): HTMLElement {
  const shown = revealHidden(text);
  const pre = el("pre", { class: cls }, shown.text);
  return shown.hidden ? el("div", { class: "hidden-chars-block" }, hiddenBadge(true), pre) : pre;
}

/** A retry beside the original: outcome, and what changed in the input and the output. */
function renderRetry(tc: ToolCallView, r: RetryView): HTMLElement {
  const side = (title: string, outcome: string, input: unknown, output: string | undefined, error: ToolCallView["error"]) =>
    el("div", { class: `side outcome-${outcome}` },
      el("h4", {}, icon(outcome === "error" ? "error" : "pass", `outcome-${outcome}`), ` ${title}`),
      shownPre("code", JSON.stringify(input, null, 2)),
      error ? el("div", { class: "error" }, icon("error", "outcome-error"), " ", el("span", { class: "error-type" }, error.type), " ", error.message, typeof error.detail?.stderr === "string" && error.detail.stderr ? shownPre("code stderr", error.detail.stderr) : null) : null,
      output !== undefined ? shownPre("code output", output) : null);
  const inputChanged = JSON.stringify(r.input) !== JSON.stringify(tc.input);
  return el("section", { class: "retry", attrs: { "data-event": r.eventId } },
    el("h4", {}, icon("debug-rerun"), ` Retry at ${r.time.replace("T", " ").slice(0, 19)}: ${r.outcome === "success" ? "succeeded" : `failed (${r.error?.type})`}`,
      el("span", { class: "meta inline" }, el("span", {}, ms(r.executionTimeMs)), inputChanged ? el("span", { class: "badge" }, "input edited") : null, r.approval ? el("span", { class: "dim" }, `${r.approval.decision} by ${r.approval.approverId}`) : null)),
    el("div", { class: "side-by-side" },
      side("Original", tc.outcome, tc.input, tc.output, tc.error),
      side("Retry", r.outcome, r.input, r.output, r.error)));
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
      if (header && header.sessionId !== m.header.sessionId) resetFind();
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
    case "request":
      onRequest(m.request);
      break;
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
  if (ev.key === "F3" && searching()) {
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

initFind({
  app,
  selected: () => selected,
  detailPane: () => detailPane,
  detailStep: () => detail?.step,
  select,
  renderTimelineRows,
  focusTimeline: () => timelineViewport?.focus(),
});
post({ type: "ready" });
