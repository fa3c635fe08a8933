import type * as vscode from "vscode";

/**
 * What holds subscriptions (commands, views, listeners, emitters): each is registered where it
 * is made, and all of them go when the holder is disposed, in the order they were registered.
 */
export abstract class Disposable implements vscode.Disposable {
  private readonly registered: vscode.Disposable[] = [];
  private disposed = false;

  /** Keeps `d` until this is disposed (at once, if it already was). */
  protected register<T extends vscode.Disposable>(d: T): T {
    if (this.disposed) d.dispose();
    else this.registered.push(d);
    return d;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.registered.splice(0)) d.dispose();
  }
}
