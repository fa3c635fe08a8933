// The checkpointer on its own: when a checkpoint is due, what it signs (the head, the Merkle
// tree head with the writer's vouches-from line), and that a failed commit leaves nothing of
// it behind (the next commit signs the same numbers again, over the right tree).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { test } from "node:test";
import { openNote, parseCheckpoint, parseVerifierKey } from "../../src/trail/integrity/c2spNote";
import { noteVerifierKey, trailOrigin } from "../../src/trail/integrity/signedNote";
import { checkpointSignatureValid, ed25519Signer, generateSigningKey } from "../../src/trail/trust/signing";
import { buildTrailTree } from "../../src/trail/integrity/trailMerkle";
import { TrailError } from "../../src/trail/store/trailErrors";
import { vouchesFromOf, WRITER_START } from "../../src/trail/integrity/writerProvenance";
import { storeParts, toolResult } from "../helpers/storeParts";

function treeHead(parts: Awaited<ReturnType<typeof storeParts>>, no: number): { text: string; size: number; root: Buffer } {
  const note = String(parts.segment.database.exec("SELECT note FROM tree_heads WHERE checkpoint_no = ?", [no])[0].values[0][0]);
  const text = openNote(note, parseVerifierKey(noteVerifierKey(trailOrigin(parts.segment.trailId), parts.checkpointer.signer!.key.public_key)));
  const head = parseCheckpoint(text);
  return { text, size: head.size, root: head.root };
}

test("a checkpoint is signed every checkpointEvery events, with a tree head over the events so far", async (t) => {
  const signer = ed25519Signer(generateSigningKey());
  const p = await storeParts(t, { signer, checkpointEvery: 3 });
  await p.commit([toolResult(1), toolResult(2)]);
  assert.equal(p.segment.latestCheckpoint, undefined, "not due at 2 events");
  await p.commit([toolResult(3)]);
  const c = p.segment.latestCheckpoint!;
  assert.equal(c.checkpoint_no, 1);
  assert.equal(c.seq, 3);
  assert.equal(c.head_hash, p.segment.head.hash);
  assert.ok(checkpointSignatureValid(c, signer.key.public_key));
  const head = treeHead(p, 1);
  assert.equal(head.size, 3);
  assert.ok(head.root.equals(buildTrailTree(p.segment.database).root()));
  assert.equal(vouchesFromOf(head.text), 1, "a writer that created the trail vouches from seq 1");
});

test("a session end or an explicit request makes a checkpoint due; without a key there is none to ask for", async (t) => {
  const signer = ed25519Signer(generateSigningKey());
  const p = await storeParts(t, { signer, checkpointEvery: 100 });
  await p.commit([toolResult(1), { session_id: "s1", event_type: "session_end", content: { status: "completed" } }]);
  assert.equal(p.segment.latestCheckpoint?.seq, 2);
  await p.commit([toolResult(3)]);
  p.checkpointer.want();
  await p.commit([]);
  assert.equal(p.segment.latestCheckpoint?.checkpoint_no, 2);

  const unsigned = await storeParts(t);
  assert.throws(() => unsigned.checkpointer.requireSigner(), (e: unknown) => e instanceof TrailError && e.code === "NO_SIGNING_KEY");
});

test("after a failed commit the checkpoint is still wanted and the next one signs the same numbers over the right tree", async (t) => {
  const signer = ed25519Signer(generateSigningKey());
  const p = await storeParts(t, { signer, checkpointEvery: 100 });
  await p.commit([toolResult(1)]);
  p.checkpointer.want();
  const headBefore = p.segment.head;
  const fd = (p.journal as unknown as { fd: number }).fd;
  // The disk refuses the write: the journal's descriptor is swapped for a read-only one.
  const ro = fs.openSync(p.journal.path, "r");
  (p.journal as unknown as { fd: number }).fd = ro;
  assert.throws(() => p.commit([toolResult(2), { session_id: "s1", event_type: "session_end", content: {} }]), (e: unknown) => e instanceof TrailError && e.code === "IO");
  fs.closeSync(ro);
  (p.journal as unknown as { fd: number }).fd = fd;

  assert.deepEqual(p.segment.head, headBefore, "the head is back where it was");
  assert.equal(p.segment.latestCheckpoint, undefined, "the failed checkpoint is not the latest");
  assert.equal(p.checkpointer.isWanted, true, "a wanted checkpoint is still wanted");
  assert.equal(p.segment.database.exec("SELECT count(*) FROM checkpoints")[0].values[0][0], 0);

  await p.commit([toolResult(2)]);
  const c = p.segment.latestCheckpoint!;
  assert.equal(c.checkpoint_no, 1, "numbering goes on from before the failure");
  assert.equal(c.seq, 2);
  const head = treeHead(p, 1);
  assert.ok(head.root.equals(buildTrailTree(p.segment.database).root()), "the running tree dropped the failed leaves");
});

test("a writer that inherits a head it did not sign appends its writer_start first, again after a failed commit", async (t) => {
  const first = ed25519Signer(generateSigningKey());
  const p = await storeParts(t, { signer: first, checkpointEvery: 100 });
  await p.commit([toolResult(1)]);
  // Another key takes over this trail (as a writer opening a cloned repository's trail would).
  const { Checkpointer } = await import("../../src/trail/integrity/checkpointer");
  const other = ed25519Signer(generateSigningKey());
  const second = new Checkpointer(p.segment, { signer: other, location: () => p.trailPath, log: () => undefined });
  second.startWriter();
  const parts = { ...p.parts, checkpointer: second };
  const { groupCommit } = await import("../../src/trail/store/groupCommit");
  const { prepareAppend } = await import("../../src/trail/store/preparedEvent");
  const mark = second.mark();
  const record = second.writerRecord(mark, "s1");
  assert.equal(record?.event_type, WRITER_START);
  second.revert(mark); // as a failed commit does: due again
  const stored = groupCommit(parts, [prepareAppend(toolResult(2), () => undefined, () => undefined)]);
  assert.deepEqual(stored.map((e) => e.event_type), [WRITER_START, "tool_result"]);
  assert.equal(stored[0].seq, 2);
});
