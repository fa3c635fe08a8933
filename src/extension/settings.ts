import type { ApprovalPolicy } from "../agent/tools/toolSet";

/** Every setting key, once. */
export const SETTINGS = {
  section: "agentAudit",
  model: "model",
  maxIterations: "maxIterations",
  thinkingBudget: "thinkingBudget",
  systemPrompt: "systemPrompt",
  approvalPolicy: "approvalPolicy",
  modalApprovals: "modalApprovals",
  anthropicBaseUrl: "anthropicBaseUrl",
  trailPath: "trailPath",
  maxToolOutputBytes: "maxToolOutputBytes",
} as const;

export interface AgentAuditSettings {
  model: string;
  maxIterations: number;
  thinkingBudget: number;
  systemPrompt: string;
  approvalPolicy: Record<string, ApprovalPolicy>;
  modalApprovals: boolean;
  anthropicBaseUrl: string;
  trailPath: string;
  maxToolOutputBytes: number;
}

/** The part of WorkspaceConfiguration we read (an in-memory fake in tests). */
export interface ConfigurationReader {
  get<T>(key: string): T | undefined;
}

/** Reads the settings afresh (changes apply to the next run), with sane values for bad input. */
export function readSettings(config: ConfigurationReader): AgentAuditSettings {
  const int = (key: string, fallback: number, min: number) => {
    const v = config.get<number>(key);
    return typeof v === "number" && Number.isFinite(v) && v >= min ? Math.floor(v) : fallback;
  };
  const str = (key: string, fallback: string) => {
    const v = config.get<string>(key);
    return typeof v === "string" && v.trim() ? v.trim() : fallback;
  };
  const policy: Record<string, ApprovalPolicy> = {};
  const raw = config.get<Record<string, unknown>>(SETTINGS.approvalPolicy) ?? {};
  for (const [tool, value] of Object.entries(raw)) {
    if (value === "auto" || value === "ask" || value === "deny") policy[tool] = value;
  }
  const thinking = int(SETTINGS.thinkingBudget, 0, 0);
  return {
    model: str(SETTINGS.model, "claude-sonnet-5"),
    maxIterations: int(SETTINGS.maxIterations, 10, 1),
    thinkingBudget: thinking > 0 ? Math.max(thinking, 1024) : 0,
    systemPrompt: config.get<string>(SETTINGS.systemPrompt) ?? "",
    approvalPolicy: policy,
    modalApprovals: config.get<boolean>(SETTINGS.modalApprovals) === true,
    anthropicBaseUrl: str(SETTINGS.anthropicBaseUrl, ""),
    trailPath: str(SETTINGS.trailPath, ".agent-audit/trail.db"),
    maxToolOutputBytes: int(SETTINGS.maxToolOutputBytes, 64 * 1024, 1024),
  };
}
