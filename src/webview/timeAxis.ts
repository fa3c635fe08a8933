// The session on a time axis, for Step Details' left column.
import type { TimeSpan } from "../shared/protocol";
import { el, ms } from "./dom";

export const SPAN_ROW = 22;

/**
 * The session on a time axis: one row per model call, tool run and approval wait, its bar where
 * it happened between the session's start and its last event. A slow tool or a long wait for
 * approval stands out; a click selects the step.
 */
export function renderTimeAxis(timelineViewport: HTMLElement, timelineInner: HTMLElement, spans: TimeSpan[], selected: number): void {
  const total = Math.max(1, spans.reduce((m, x) => Math.max(m, x.endMs), 0));
  timelineInner.style.height = `${(spans.length + 1) * SPAN_ROW}px`;
  const first = Math.max(0, Math.floor(timelineViewport.scrollTop / SPAN_ROW) - 5);
  const count = Math.ceil(timelineViewport.clientHeight / SPAN_ROW) + 10;
  const rows: HTMLElement[] = [el("div", { class: "time-scale" }, el("span", {}, "0"), el("span", {}, `+${ms(total)}`))];
  for (let i = first; i < Math.min(spans.length, first + count); i++) {
    const x = spans[i];
    const bar = el("span", { class: `time-bar kind-${x.kind}${x.outcome ? ` outcome-${x.outcome}` : ""}` });
    bar.style.left = `${(x.startMs / total) * 100}%`;
    bar.style.width = `max(2px, ${((x.endMs - x.startMs) / total) * 100}%)`;
    const row = el("div", {
      class: `span-row${x.step === selected ? " selected" : ""}`,
      title: `Step ${x.step}, ${x.label}: from +${ms(x.startMs)}, ${ms(x.endMs - x.startMs)}${x.outcome === "error" ? " (failed)" : ""}`,
      attrs: { "data-step": String(x.step), role: "option", "aria-selected": String(x.step === selected) },
    }, el("span", { class: "step-no" }, String(x.step)), el("span", { class: "span-label" }, x.label), el("span", { class: "time-track" }, bar));
    row.style.top = `${(i + 1) * SPAN_ROW}px`;
    rows.push(row);
  }
  timelineInner.replaceChildren(...rows);
}

/** Where the first bar of the selected step is (for scrolling it into view), or -1. */
export function timeAxisTop(spans: TimeSpan[], selected: number): number {
  const i = spans.findIndex((x) => x.step === selected);
  return i < 0 ? -1 : (i + 1) * SPAN_ROW;
}
