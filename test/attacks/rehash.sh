#!/usr/bin/env bash
# What a forger does after editing events with the sqlite3 CLI: recompute every event's
# prev_hash and hash with the recipe docs/trail-format.md publishes, using nothing but
# sqlite3 and sha256sum (no code of this project). Run with the triggers dropped.
#   rehash.sh TRAIL.db
set -euo pipefail
db=$1
prev=0000000000000000000000000000000000000000000000000000000000000000
for seq in $(sqlite3 "$db" "SELECT seq FROM events ORDER BY seq"); do
  text=$(sqlite3 "$db" "SELECT '$prev' || json_object('agent_id',agent_id,'agent_version',agent_version,'content',json(content),
    'event_id',event_id,'event_type',event_type,'model_id',model_id,'parent_event_id',parent_event_id,'seq',seq,
    'session_id',session_id,'step_number',step_number,'system_prompt_hash',system_prompt_hash,'timestamp',timestamp,
    'user_id',user_id) FROM events WHERE seq = $seq")
  hash=$(printf '%s' "$text" | sha256sum | cut -d' ' -f1)
  sqlite3 "$db" "UPDATE events SET prev_hash = '$prev', hash = '$hash' WHERE seq = $seq"
  prev=$hash
done
