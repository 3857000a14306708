// Small stand-ins for the watcher's seams, for unit tests of a pass: a state store in memory
// with the conditional write's real semantics (a version that moves on each write, a write at a
// stale version refused), and an alert destination that records what it was sent and can be
// made to fail.
import { ValidateLogsError } from '../../src/errors.js';
import type { Alert, AlertDestination, LoadedState, PassRecord, StateStore, WatchState } from '../../src/watch/types.js';

/** A state store in memory: every write is conditional on the version read. */
export class MemoryStore implements StateStore {
  readonly where: string;
  doc: string | undefined;
  version = 0;
  readonly history: PassRecord[] = [];
  checkpointNote: string | undefined;
  saves = 0;
  /** Called before a save is applied (to fail it, or to write first as another watcher). */
  beforeSave?: ((state: WatchState) => void) | undefined;

  constructor(where = 'memory://state/') {
    this.where = where;
  }

  async load(): Promise<LoadedState | undefined> {
    if (this.doc === undefined) return undefined;
    return { state: JSON.parse(this.doc) as WatchState, tag: String(this.version) };
  }

  async save(state: WatchState, tag: string | undefined): Promise<string> {
    this.beforeSave?.(state);
    const current = this.doc === undefined ? undefined : String(this.version);
    if (current !== tag) throw new ValidateLogsError('STATE_CONFLICT', `the state at ${this.where} changed since it was read`);
    this.doc = JSON.stringify(state);
    this.version++;
    this.saves++;
    return String(this.version);
  }

  async appendHistory(record: PassRecord): Promise<void> {
    if (this.history.some((r) => r.pass === record.pass)) return;
    this.history.push(structuredClone(record));
  }

  async *readHistory(): AsyncIterable<PassRecord> {
    yield* this.history;
  }

  async publishCheckpoint(text: string): Promise<void> {
    this.checkpointNote = text;
  }

  /** The stored state. */
  state(): WatchState {
    return JSON.parse(this.doc!) as WatchState;
  }
}

/** A destination that records each alert; `failing` makes it throw ALERT_FAILED. */
export class RecordingDestination implements AlertDestination {
  readonly name: string;
  readonly label: string;
  readonly received: Alert[] = [];
  failing = false;
  /** Called after an alert is taken, before the send returns (to kill the watcher there). */
  afterReceive?: ((alert: Alert) => void) | undefined;

  constructor(name: string) {
    this.name = name;
    this.label = name;
  }

  async send(alert: Alert): Promise<void> {
    if (this.failing) throw new ValidateLogsError('ALERT_FAILED', `${this.label} refused the alert`);
    this.received.push(alert);
    this.afterReceive?.(alert);
  }
}
