// Find in the session (Ctrl/Cmd+F) for Step Details: the host finds where a text occurs in
// every step; here the hits are walked, the steps with hits marked and each hit highlighted.
// Marks wrap existing text nodes: the text stays text.
import { el, icon, post } from "./dom";

/** What find needs of the view around it. */
export interface FindHost {
  app: HTMLElement;
  selected(): number;
  /** The detail pane and the step it shows (undefined while loading). */
  detailPane(): HTMLElement | undefined;
  detailStep(): number | undefined;
  /** Selects a step (fromSearch: the current hit stays as it is). */
  select(step: number, fromSearch: boolean): void;
  renderTimelineRows(): void;
  focusTimeline(): void;
}

let host: FindHost;

export function initFind(h: FindHost): void {
  host = h;
}

interface SearchState {
  text: string;
  /** Every hit in order: its step and which occurrence in that step. */
  hits: { step: number; nth: number }[];
  /** Steps with hits (for the timeline's markers). */
  steps: Set<number>;
  index: number;
}

let search: SearchState | undefined;

/** Whether a step has hits (the timeline marks it). */
export function stepHasHits(step: number): boolean {
  return !!search?.steps.has(step);
}

/** Whether a search is on. */
export function searching(): boolean {
  return search !== undefined;
}
let searchBar: HTMLElement | undefined;
let searchInput: HTMLInputElement | undefined;
let searchStatus: HTMLElement | undefined;
let searchTimer: ReturnType<typeof setTimeout> | undefined;

export function openSearch(): void {
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
  if (!searchBar.isConnected) host.app.prepend(searchBar);
  searchInput!.focus();
  searchInput!.select();
}

function clearSearch(): void {
  search = undefined;
  if (searchStatus) searchStatus.textContent = "";
  host.renderTimelineRows();
  highlight();
}

function closeSearch(): void {
  clearSearch();
  searchBar?.remove();
  host.focusTimeline();
}

export function onSearchResults(text: string, hits: { step: number; count: number }[]): void {
  if (!searchInput || searchInput.value !== text) return; // typed on since
  const flat = hits.flatMap((h) => Array.from({ length: h.count }, (_, nth) => ({ step: h.step, nth })));
  // Start at the first hit from the step on display onwards.
  const from = flat.findIndex((h) => h.step >= host.selected());
  search = { text, hits: flat, steps: new Set(hits.map((h) => h.step)), index: from < 0 ? 0 : from };
  host.renderTimelineRows();
  showHit();
}

export function moveHit(delta: number): void {
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
  if (hit.step !== host.selected()) host.select(hit.step, true);
  else highlight();
}

/**
 * Marks every occurrence in the step on display and scrolls to the current one. Text nodes are
 * split and wrapped in <mark>: the text stays text. The count in the stored JSON and on screen
 * can differ (keys, escaping); the current hit is the nth mark on screen, or the last.
 */
export function highlight(): void {
  const detailPane = host.detailPane();
  if (!detailPane) return;
  for (const m of Array.from(detailPane.querySelectorAll("mark.hit"))) m.replaceWith(document.createTextNode(m.textContent ?? ""));
  detailPane.normalize();
  const selected = host.selected();
  if (!search || host.detailStep() !== selected) return;
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


/** The step on display was changed by hand: the current hit becomes the first one from there. */
export function onManualSelect(step: number): void {
  if (!search) return;
  const first = search.hits.findIndex((h) => h.step >= step);
  search.index = first < 0 ? 0 : first;
}

/** Another session is on display: the search ends. */
export function resetFind(): void {
  search = undefined;
  searchBar?.remove();
}

/** The view was rebuilt: put the bar back if a search is on. */
export function reattachFind(): void {
  if (searchBar && search !== undefined) host.app.prepend(searchBar);
}
