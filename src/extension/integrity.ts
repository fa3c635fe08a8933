import * as fs from "node:fs";
import * as vscode from "vscode";
import type { Finding } from "../trail/integrity/verifyChain";
import type { VerifyReport } from "../trail/integrity/verifyTrail";
import type { ProvenanceRange } from "../trail/integrity/provenanceRanges";
import { verifyOffThread } from "../trail/integrity/verifyOffThread";
import { Disposable } from "./disposable";
import type { Logger } from "./logger";
import type { StepNavigator } from "./stepNavigator";
import type { TrailService } from "./trailService";
import type { TrailServices } from "./trailServices";

export const INTEGRITY_VIEW_ID = "agentAudit.integrity";

/** The result of verifying one folder's trail. */
export interface FolderIntegrity {
  folder: string;
  label: string;
  file: string;
  report?: VerifyReport;
  /** Set when the trail could not be read at all (that is a finding too). */
  error?: string;
  anchor?: string;
}

/** Findings that point at one event, by seq: the Sessions tree marks those events. */
export function brokenSeqs(results: FolderIntegrity | undefined): Map<number, string> {
  const out = new Map<number, string>();
  for (const f of results?.report?.findings ?? []) {
    if (f.severity === "error" && f.seq !== undefined && ["HASH_MISMATCH", "CHAIN_BREAK", "SIGNATURE_INVALID"].includes(f.category)) {
      out.set(f.seq, f.category);
    }
  }
  return out;
}

/**
 * "Verify Trail Integrity": reads each trail from disk as an auditor would (read-only, never
 * repairing), checks it against the signed checkpoints and the anchor kept in the
 * extension's global storage, and shows the findings in a view and a shield in the status bar.
 */
export class IntegrityFeature extends Disposable {
  private readonly results = new Map<string, FolderIntegrity>();
  private readonly status = this.register(vscode.window.createStatusBarItem("agentAudit.integrity", vscode.StatusBarAlignment.Left, 49));
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  readonly onDidChange = this.changed.event;

  constructor(
    private readonly services: TrailServices,
    private readonly log: Logger,
    private readonly navigator: StepNavigator,
  ) {
    super();
    this.status.name = "Agent Audit Integrity";
    this.status.command = `${INTEGRITY_VIEW_ID}.focus`;
    this.register(vscode.window.createTreeView(INTEGRITY_VIEW_ID, { treeDataProvider: new IntegrityTreeProvider(this) }));
    this.register(vscode.commands.registerCommand("agentAudit.verifyTrail", () => this.verifyAll(true)));
    this.register(vscode.commands.registerCommand("agentAudit.revealSeq", (folder: string, seq: number) => this.revealSeq(folder, seq)));
  }

  result(folder: string): FolderIntegrity | undefined {
    return this.results.get(folder);
  }

  all(): FolderIntegrity[] {
    return [...this.results.values()];
  }

  async verifyAll(interactive: boolean): Promise<void> {
    await vscode.window.withProgress(
      { location: interactive ? vscode.ProgressLocation.Notification : vscode.ProgressLocation.Window, title: "Verifying the audit trail" },
      async () => {
        for (const s of this.services.all()) await this.verify(s);
      },
    );
    const bad = this.all().filter((r) => r.error || (r.report && !r.report.valid));
    if (interactive) {
      if (bad.length) void vscode.window.showErrorMessage(`Audit trail integrity: ${this.summary()}`, "Show Findings").then((c) => c && vscode.commands.executeCommand(`${INTEGRITY_VIEW_ID}.focus`));
      else if (this.results.size) void vscode.window.showInformationMessage(`Audit trail verified: ${this.summary()}`);
      else void vscode.window.showInformationMessage("There is no audit trail in this workspace yet.");
    }
  }

  /** Verifies one folder's trail as it is on disk. */
  async verify(service: TrailService): Promise<FolderIntegrity | undefined> {
    const key = service.source.key;
    if (!fs.existsSync(service.trailPath)) {
      this.results.delete(key);
      this.update();
      return undefined;
    }
    const result: FolderIntegrity = { folder: key, label: service.folder.name, file: service.trailPath };
    try {
      // The same verification as `agent-audit verify`: the user's trust store, anchor and pin.
      const v = await verifyOffThread(service.trailPath, service.trust);
      result.report = v.report;
      result.anchor = v.anchorFile;
    } catch (err) {
      result.error = (err as Error).message;
    }
    const r = result.report;
    this.log.info(`verified ${service.trailPath}: ${result.error ?? (!r!.valid ? `${r!.findings.length} findings` : r!.authenticated ? "valid, authenticated" : "consistent, not authenticated")}`);
    this.results.set(key, result);
    this.update();
    return result;
  }

  private summary(): string {
    return this.all()
      .map((r) => {
        if (r.error) return `${r.label}: unreadable`;
        const errors = r.report!.findings.filter((f) => f.severity === "error").length;
        if (errors) return `${r.label}: ${errors} finding${errors > 1 ? "s" : ""}`;
        const facts = `${r.report!.events} events, signed up to seq ${r.report!.lastSignedSeq}`;
        const unvouched = (r.report!.provenance ?? []).filter((g) => !g.vouched && !g.tail);
        const why = unvouched.length && r.report!.trustRoots.length ? `no key you trust vouches for ${unvouched.map((g) => `seq ${g.from}–${g.to}`).join(", ")}` : "nothing outside the file vouches for it";
        return r.report!.authenticated ? `${r.label}: valid (${facts})` : `${r.label}: consistent, but not authenticated — ${why} (${facts})`;
      })
      .join("; ");
  }

  private update(): void {
    const all = this.all();
    if (!all.length) {
      this.status.hide();
    } else {
      const errors = all.reduce((n, r) => n + (r.error ? 1 : r.report!.findings.filter((f) => f.severity === "error").length), 0);
      // Green only when something outside the file vouches for every trail: a consistent but
      // unauthenticated trail gets a warning shield, never "verified".
      const unauthenticated = !errors && all.some((r) => r.report && !r.report.authenticated);
      this.status.text = errors ? `$(shield) ${errors} trail finding${errors > 1 ? "s" : ""}` : unauthenticated ? "$(unverified) Trail not authenticated" : "$(shield) Trail verified";
      this.status.backgroundColor = errors ? new vscode.ThemeColor("statusBarItem.errorBackground") : unauthenticated ? new vscode.ThemeColor("statusBarItem.warningBackground") : undefined;
      this.status.tooltip = `Agent Audit: ${this.summary()}`;
      this.status.show();
    }
    void vscode.commands.executeCommand("setContext", "agentAudit.verified", all.length > 0);
    this.changed.fire();
  }

  private async revealSeq(folder: string, seq: number): Promise<void> {
    const service = this.services.get(folder);
    const store = await service?.load();
    let e;
    try {
      e = store ? service?.source.reader?.eventsBySeq([seq])[0] : undefined;
    } catch {
      e = undefined; // its sealed segment is gone or was edited: verify said so
    }
    if (!e) {
      void vscode.window.showWarningMessage(`Event ${seq} is not in the trail (it may have been removed).`);
      return;
    }
    this.navigator.showStep({ folder, sessionId: e.session_id, step: Math.max(1, e.step_number) });
  }
}

type IntegrityNode =
  | { kind: "folder"; result: FolderIntegrity }
  | { kind: "summary"; result: FolderIntegrity }
  | { kind: "range"; result: FolderIntegrity; range: ProvenanceRange }
  | { kind: "finding"; result: FolderIntegrity; finding: Finding };

class IntegrityTreeProvider implements vscode.TreeDataProvider<IntegrityNode> {
  readonly onDidChangeTreeData: vscode.Event<void>;

  constructor(private readonly feature: IntegrityFeature) {
    this.onDidChangeTreeData = feature.onDidChange;
  }

  getChildren(node?: IntegrityNode): IntegrityNode[] {
    const all = this.feature.all();
    if (!node) {
      if (all.length === 1) return this.itemsOf(all[0]);
      return all.map((result) => ({ kind: "folder", result }));
    }
    return node.kind === "folder" ? this.itemsOf(node.result) : [];
  }

  private itemsOf(result: FolderIntegrity): IntegrityNode[] {
    const findings = result.report?.findings ?? [];
    // Who vouches for each range, when it is not one key for the whole trail.
    const ranges = result.report?.provenance ?? [];
    const shown = ranges.length > 1 || ranges.some((r) => !r.vouched && !r.tail) ? ranges : [];
    return [{ kind: "summary", result }, ...shown.map((range) => ({ kind: "range" as const, result, range })), ...findings.map((finding) => ({ kind: "finding" as const, result, finding }))];
  }

  getTreeItem(node: IntegrityNode): vscode.TreeItem {
    const r = node.result;
    if (node.kind === "folder") {
      const item = new vscode.TreeItem(r.label, vscode.TreeItemCollapsibleState.Expanded);
      item.iconPath = new vscode.ThemeIcon("root-folder");
      return item;
    }
    if (node.kind === "summary") {
      const ok = !r.error && r.report?.valid;
      const authenticated = ok && r.report!.authenticated;
      const item = new vscode.TreeItem(r.error ? "Trail unreadable" : !ok ? "Trail has findings" : authenticated ? "Trail verified" : "Trail consistent, not authenticated");
      const rep = r.report;
      item.description = r.error ? r.error.slice(0, 80) : `${rep!.events} events · ${rep!.checkpoints} checkpoints · signed to seq ${rep!.lastSignedSeq}${r.anchor ? " · anchor ✓" : " · no anchor"}`;
      item.iconPath = authenticated ? new vscode.ThemeIcon("shield", new vscode.ThemeColor("testing.iconPassed"))
        : ok ? new vscode.ThemeIcon("unverified", new vscode.ThemeColor("editorWarning.foreground"))
        : new vscode.ThemeIcon("error", new vscode.ThemeColor("errorForeground"));
      const unvouched = (rep?.provenance ?? []).filter((g) => !g.vouched && !g.tail);
      item.tooltip =
        `${r.file}${r.anchor ? `\nanchor: ${r.anchor}` : "\nno anchor"}\n` +
        (ok && !authenticated && unvouched.length && rep!.trustRoots.length
          ? `no key you trust vouches for ${unvouched.map((g) => `seq ${g.from}–${g.to}`).join(", ")} (a key vouches only for what its own writer appended)`
          : rep?.trustRoots.length ? `vouched for by: ${rep.trustRoots.join("; ")}` : "nothing outside this file vouches for it (no key you trust signed it, no anchor, no earlier pin)");
      return item;
    }
    if (node.kind === "range") {
      const g = node.range;
      const item = new vscode.TreeItem(`seq ${g.from}–${g.to}`);
      item.description = g.who;
      item.tooltip = g.vouched ? `Vouched for by ${g.who}` : g.tail ? "Not signed yet: after the last checkpoint" : `No key you trust vouches for these events: ${g.who}. A key vouches only for what its own writer appended, not for the history it found.`;
      item.iconPath = g.vouched ? new vscode.ThemeIcon("shield", new vscode.ThemeColor("testing.iconPassed")) : new vscode.ThemeIcon("unverified", new vscode.ThemeColor("editorWarning.foreground"));
      item.contextValue = g.vouched ? "provenance+vouched" : "provenance+unvouched";
      item.command = { command: "agentAudit.revealSeq", title: "Show Event", arguments: [r.folder, g.from] };
      return item;
    }
    const f = node.finding;
    const where = f.seq !== undefined ? `seq ${f.seq}${f.toSeq !== undefined && f.toSeq !== f.seq ? `–${f.toSeq}` : ""}` : "";
    const item = new vscode.TreeItem(f.category);
    item.description = `${where}${where ? " · " : ""}${f.message}`;
    item.tooltip = f.message;
    item.iconPath = new vscode.ThemeIcon(f.severity === "error" ? "error" : "warning", new vscode.ThemeColor(f.severity === "error" ? "errorForeground" : "editorWarning.foreground"));
    item.contextValue = `finding+${f.category}`;
    if (f.seq !== undefined && f.category !== "TRUNCATED" && f.category !== "SEQ_GAP") {
      item.command = { command: "agentAudit.revealSeq", title: "Show Event", arguments: [r.folder, f.seq] };
    }
    return item;
  }
}
