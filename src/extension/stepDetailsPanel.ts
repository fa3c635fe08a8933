import * as vscode from "vscode";
import { getEvent, getEventWithLinks, previousOfType, searchSession, similarFailures } from "../trail/reading/trailQueries";
import type { HostToWebview, StepDetailsState, WebviewToHost } from "../shared/protocol";
import { parseWebviewMessage } from "../shared/protocol";
import { Disposable } from "./disposable";
import type { Logger } from "./logger";
import { toRequestView } from "./requestView";
import type { SessionsTreeModel } from "./sessionsTreeModel";
import type { SessionsUpdate, SessionsView } from "./sessionsView";
import { indexOfStep } from "./sessionModel";
import type { WindowSettings } from "./settings";
import { searchHits, sessionCost, stepDetailSeqs, toHeader, toStepDetail, toStepSummaries, toTimeSpans } from "./stepDetailsModel";
import type { StepNavigator } from "./stepNavigator";
import type { TrailService } from "./trailService";
import type { TrailServices } from "./trailServices";
import { buildWebviewHtml } from "./webviewHtml";

export const STEP_DETAILS_VIEW_TYPE = "agentAudit.stepDetails";

/**
 * The Step Details panel: one per window, showing one session at a time. It posts data only
 * after the webview says `ready`, follows the trail as it changes, and is restored after a
 * window reload by the serializer (the webview keeps its state with setState).
 */
export class StepDetailsPanel extends Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private state: StepDetailsState | undefined;
  private ready = false;
  private panelDisposables: vscode.Disposable[] = [];
  private readonly model: SessionsTreeModel;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly services: TrailServices,
    view: SessionsView,
    private readonly log: Logger,
    private readonly navigator: StepNavigator,
    private readonly actions: {
      retry: (folder: string, callEventId: string, edit: boolean) => Promise<void>;
      reveal: (folder: string, callEventId: string) => Promise<void>;
    },
    /** Model prices (the dated table and the user's overrides), read when needed. */
    private readonly settings: WindowSettings,
  ) {
    super();
    this.model = view.model;
    this.register(view.onDidUpdate((u) => this.onTrailChanged(u)));
    this.register(navigator.onDidRequestStep((r) => r.in !== "tree" && this.show(r.at.folder, r.at.sessionId, r.at.step ?? 1)));
    this.register(
      vscode.window.registerWebviewPanelSerializer(STEP_DETAILS_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel, saved: unknown) => {
          const s = saved as Partial<StepDetailsState> | undefined;
          this.attach(panel);
          if (s?.folder && s.sessionId) this.state = { folder: s.folder, sessionId: s.sessionId, step: s.step ?? 1 };
          else panel.webview.html = this.html();
        },
      }),
    );
  }

  /** Shows a session with one step selected, reusing the panel. */
  show(folder: string, sessionId: string, step: number): void {
    this.state = { folder, sessionId, step };
    if (!this.panel) {
      const panel = vscode.window.createWebviewPanel(STEP_DETAILS_VIEW_TYPE, "Step Details", vscode.ViewColumn.Active, this.options());
      this.attach(panel);
    } else {
      this.panel.reveal(undefined, false);
      if (this.ready) this.postSession();
    }
  }

  /**
   * The trail changed. Only the session on display matters, and of it only the steps with new
   * events are sent (the webview merges them); the selected step is re-sent if it changed.
   */
  private onTrailChanged({ change, touched }: SessionsUpdate): void {
    const state = this.state;
    if (!this.panel || !this.ready || state?.folder !== change.folder) return;
    if (change.full) return this.postSession();
    if (!change.updated.includes(state.sessionId) && !change.added.includes(state.sessionId)) return;
    const steps = touched.get(`${state.folder}\n${state.sessionId}`);
    // Not among the sessions the tree keeps (it was evicted meanwhile): send it whole, once.
    if (!steps) return this.postSession();
    const parsed = this.model.parsed(state.folder, state.sessionId);
    if (!parsed) return;
    const prices = this.settings.prices;
    const changed = toStepSummaries(parsed, steps, prices);
    this.post({ type: "steps", header: toHeader(parsed.summary, sessionCost(parsed, prices), parsed), steps: changed, spans: toTimeSpans(parsed, steps) });
    // The selected step's detail shows the next step's first line too.
    if (steps.has(state.step) || steps.has(state.step + 1)) this.postDetail();
  }

  get current(): StepDetailsState | undefined {
    return this.panel ? this.state : undefined;
  }

  private options(): vscode.WebviewPanelOptions & vscode.WebviewOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, "dist", "webview")],
    };
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panelDisposables.forEach((d) => d.dispose());
    this.panel = panel;
    this.ready = false;
    panel.webview.options = this.options();
    panel.webview.html = this.html();
    this.panelDisposables = [
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const m = parseWebviewMessage(raw);
        if (m) void this.onMessage(m);
        else this.log.warn(`step details: ignored a malformed message from the webview (${JSON.stringify(raw)?.slice(0, 200)})`);
      }),
      panel.onDidDispose(() => {
        // What the panel showed is read again when it opens; let go of it now.
        for (const s of this.services.all()) s.source.releaseRows();
        this.panel = undefined;
        this.ready = false;
        this.panelDisposables.forEach((d) => d.dispose());
        this.panelDisposables = [];
      }),
    ];
  }

  private html(): string {
    const webview = this.panel!.webview;
    const asset = (name: string) => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, "dist", "webview", name)).toString();
    return buildWebviewHtml({
      cspSource: webview.cspSource,
      scriptUri: asset("stepDetails.js"),
      styleUris: [asset("codicon.css"), asset("stepDetails.css")],
      title: "Step Details",
    });
  }

  private async onMessage(m: WebviewToHost): Promise<void> {
    try {
      switch (m.type) {
        case "ready":
          // After a window reload the panel can come back before any view opened the trail.
          await this.service()?.load();
          this.ready = true;
          this.postSession();
          break;
        case "selectStep":
          if (!this.state) return;
          this.state = { ...this.state, step: m.step };
          this.postDetail();
          this.navigator.showStep(this.state, "tree");
          break;
        case "showFullOutput": {
          const db = await this.sessionDatabase();
          const e = db ? getEvent(db, m.eventId) : undefined;
          if (e) this.post({ type: "fullOutput", eventId: m.eventId, text: String(JSON.parse(e.content).output ?? "") });
          break;
        }
        case "loadRequest": {
          const db = await this.sessionDatabase();
          const llm = db ? getEvent(db, m.eventId) : undefined;
          if (!db || !llm || llm.event_type !== "llm_call") return;
          const previous = previousOfType(db, llm.session_id, "llm_call", llm.seq);
          this.post({ type: "request", request: toRequestView(db, llm, previous) });
          break;
        }
        case "search": {
          // The session's structure first: reading it may open segments, and the database
          // handed out below is to be used at once (the segment cache holds two).
          const parsed = this.state && this.model.parsed(this.state.folder, this.state.sessionId);
          const db = await this.sessionDatabase();
          if (!db || !parsed || !this.state) return;
          this.post({ type: "searchResults", text: m.text, hits: searchHits(parsed, searchSession(db, this.state.sessionId, m.text)) });
          break;
        }
        case "retry":
          if (this.state) await this.actions.retry(this.state.folder, m.eventId, m.edit);
          break;
        case "reveal":
          if (this.state) await this.actions.reveal(this.state.folder, m.eventId);
          break;
        case "openSession":
          if (this.state) this.show(this.state.folder, m.sessionId, m.step);
          break;
        case "copyEvent": {
          const db = await this.sessionDatabase();
          const linked = db ? getEventWithLinks(db, m.eventId) : undefined;
          if (!linked) return;
          const all = [linked.event, ...linked.children].map((e) => ({ ...e, content: JSON.parse(e.content) }));
          await vscode.env.clipboard.writeText(JSON.stringify(all.length === 1 ? all[0] : all, null, 2));
          void vscode.window.setStatusBarMessage("Event copied as JSON", 3000);
          break;
        }
      }
    } catch (err) {
      this.log.error(`step details: ${(err as Error).message}`);
      this.post({ type: "error", message: (err as Error).message });
    }
  }

  /** The shown session's events and blobs, wherever they are (a sealed segment, several). */
  private async sessionDatabase() {
    const svc = this.service();
    await svc?.load();
    return this.state ? svc?.source.sessionDatabase(this.state.sessionId) : undefined;
  }

  private service(): TrailService | undefined {
    return this.state && this.services.get(this.state.folder);
  }

  private postSession(): void {
    if (!this.state) return;
    const parsed = this.model.parsed(this.state.folder, this.state.sessionId);
    if (!parsed) {
      this.post({ type: "error", message: `Session ${this.state.sessionId} is not in this workspace's trail.` });
      return;
    }
    this.panel!.title = `Step Details: ${(parsed.summary.task ?? parsed.summary.session_id).split("\n")[0].slice(0, 40)}`;
    const prices = this.settings.prices;
    const steps = toStepSummaries(parsed, undefined, prices);
    if (!steps.some((s) => s.step === this.state!.step) && steps.length) this.state.step = steps[0].step;
    this.post({ type: "session", state: { ...this.state }, header: toHeader(parsed.summary, sessionCost(parsed, prices), parsed), steps, spans: toTimeSpans(parsed), selectedStep: this.state.step });
    this.postDetail();
  }

  private postDetail(): void {
    if (!this.state) return;
    const steps = this.model.parsed(this.state.folder, this.state.sessionId)?.steps ?? [];
    const i = indexOfStep(steps, this.state.step);
    if (i < 0) return;
    const seqs = stepDetailSeqs(steps[i], steps[i + 1]);
    const detail = toStepDetail(steps[i], steps[i + 1], this.model.fullEvents(this.state.folder, seqs), this.settings.prices);
    const db = this.service()?.source.database;
    if (db) {
      for (const tc of detail.toolCalls) {
        if (!tc.error) continue;
        const sim = similarFailures(db, tc.toolName, tc.error.type, this.state.sessionId);
        if (sim.count) tc.similar = { count: sim.count, items: sim.items.map((x) => ({ sessionId: x.session_id, step: x.step_number, time: x.timestamp, task: x.task ?? "" })) };
      }
    }
    this.post({ type: "stepDetail", detail });
  }

  private post(message: HostToWebview): void {
    void this.panel?.webview.postMessage(message);
  }

  override dispose(): void {
    this.panel?.dispose();
    super.dispose();
  }
}
