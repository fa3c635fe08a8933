import * as os from "node:os";
import { version } from "../../package.json";
import type { AgentConfig } from "./agentTypes";
import type { ApprovalPolicy } from "./tools/toolSet";
import { extraNamesFromEnv } from "./tools/commandEnvironment";

export const AGENT_ID = "agent-audit-trail";
export const AGENT_VERSION = version;
export const DEFAULT_MODEL = "claude-sonnet-5";
export const DEFAULT_MAX_ITERATIONS = 10;
export const DEFAULT_MAX_TOKENS = 8192;
export const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024;

/** The OS user, the default `user_id` of events and approver of CLI approvals. */
export function osUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? "unknown";
  }
}

export const DEFAULT_SYSTEM_PROMPT =
  "You are a careful software agent working in the user's workspace through the tools provided. " +
  "Read before you change anything, make the smallest change that does the task, and check your work " +
  "(for example by running the tests). Paths are relative to the workspace root. When you are done, " +
  "answer with a short summary of what you did.";

/** A full agent configuration from the few things a user usually sets. */
export function agentConfig(o: {
  model?: string;
  maxIterations?: number;
  thinkingBudget?: number;
  systemPrompt?: string;
  policy?: Record<string, ApprovalPolicy>;
  userId?: string;
  maxOutputBytes?: number;
  commandEnv?: readonly string[];
}): AgentConfig {
  const thinking = o.thinkingBudget && o.thinkingBudget > 0 ? o.thinkingBudget : undefined;
  return {
    model: o.model || DEFAULT_MODEL,
    maxIterations: o.maxIterations ?? DEFAULT_MAX_ITERATIONS,
    // With extended thinking, max_tokens must exceed the thinking budget.
    maxTokens: thinking ? Math.max(DEFAULT_MAX_TOKENS, thinking + 4096) : DEFAULT_MAX_TOKENS,
    thinkingBudget: thinking,
    systemPrompt: o.systemPrompt?.trim() || DEFAULT_SYSTEM_PROMPT,
    agentId: AGENT_ID,
    agentVersion: AGENT_VERSION,
    userId: o.userId || osUser(),
    policy: o.policy ?? {},
    maxOutputBytes: o.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    commandEnv: o.commandEnv ?? extraNamesFromEnv(process.env.AGENT_AUDIT_COMMAND_ENV),
  };
}
