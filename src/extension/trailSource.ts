import type { TrailStore } from "../trail/trailStore";
import { getSession, listSessions, sessionEvents } from "../trail/trailQueries";
import type { TrailSource } from "./sessionsTreeModel";

/** A TrailSource over an open store, with the session list cached until the trail changes. */
export class StoreTrailSource implements TrailSource {
  private sessionsCache: ReturnType<typeof listSessions> | undefined;
  private byId = new Map<string, ReturnType<typeof listSessions>[number]>();

  constructor(
    readonly key: string,
    readonly label: string,
    private readonly store: () => TrailStore | undefined,
  ) {}

  /** The open trail's database, for queries beyond the tree's (undefined before it is opened). */
  get database() {
    return this.store()?.database;
  }

  /** Call when the trail changed. */
  invalidate(): void {
    this.sessionsCache = undefined;
    this.byId.clear();
  }

  sessions() {
    const store = this.store();
    if (!store) return [];
    if (!this.sessionsCache) {
      this.sessionsCache = listSessions(store.database);
      this.byId = new Map(this.sessionsCache.map((s) => [s.session_id, s]));
    }
    return this.sessionsCache;
  }

  session(sessionId: string) {
    const store = this.store();
    if (!store) return undefined;
    if (this.sessionsCache) return this.byId.get(sessionId);
    return getSession(store.database, sessionId);
  }

  events(sessionId: string) {
    const store = this.store();
    return store ? sessionEvents(store.database, sessionId) : [];
  }
}
