import type { PinFiles, TrailState } from "./pins";
import { advancePin, checkPin } from "./pins";
import { TrailError } from "../store/trailErrors";

/** How a writing TrailStore uses the user's pins. */
export interface PinKeeper {
  /** Before anything is written: refuses a trail that is not the one pinned here; pins a new one. */
  beforeWriting(state: TrailState): void;
  /** After a checkpoint this user signed: the pin moves forward (with the signer's key only). */
  advance(state: TrailState, signerKey: string): void;
}

/**
 * Pins kept in files. A writer never signs on top of a history that contradicts the pin (a
 * replaced, truncated or rewritten trail): that would launder a forgery with the user's key.
 * A key unknown to the pin is left to verify to report; the writer never adds it to the pin.
 */
export function filePinKeeper(pins: PinFiles, now: () => string = () => new Date().toISOString()): PinKeeper {
  return {
    beforeWriting(state) {
      const pin = pins.read(state.location);
      if (!pin) {
        if (state.trailId) pins.write(advancePin(undefined, state, now())); // "" : not created yet
        return;
      }
      const problems = checkPin(pin, state, new Set()).filter((f) => f.category !== "KEY_UNKNOWN");
      if (problems.length) {
        throw new TrailError(
          "PIN_MISMATCH",
          `${state.location} is not the trail you last used here: ${problems.map((p) => p.message).join("; ")}. ` +
            `Nothing was written. Run "agent-audit verify"; if the change is yours (you deleted or restored the trail on purpose), ` +
            `accept it with "agent-audit trust forget --workspace <folder>".`,
          state.location,
        );
      }
    },
    advance(state, signerKey) {
      const pin = pins.read(state.location);
      if (pin && pin.trail_id !== state.trailId) return; // verify reports it; never overwrite
      pins.write(advancePin(pin, { ...state, keys: [signerKey] }, now(), true));
    },
  };
}
