import * as vscode from "vscode";
import { Disposable } from "./disposable";

/** A session, or one step of it, in one folder's trail. */
export interface StepRef {
  folder: string;
  sessionId: string;
  /** Absent: the session itself (the tree selects its row; Step Details opens its first step). */
  step?: number;
}

/** Where a step is shown: the Sessions tree selects it, Step Details opens it, or both. */
export type ShowIn = "tree" | "details" | "both";

export interface ShowStepRequest {
  at: StepRef;
  in: ShowIn;
}

/**
 * The one way to go to a step, whoever asks (a failure, a finding, a run, Step Details' own
 * step list). The views that show steps listen; an asker needs neither of them, which keeps
 * the views free to need the askers.
 */
export class StepNavigator extends Disposable {
  private readonly requested = this.register(new vscode.EventEmitter<ShowStepRequest>());
  readonly onDidRequestStep = this.requested.event;

  showStep(at: StepRef, where: ShowIn = "both"): void {
    this.requested.fire({ at, in: where });
  }
}
