import type { ApprovalPolicy } from "../agent/tools/toolSet";
import { ENV_NAME } from "../agent/tools/commandEnvironment";

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
  commandEnvironment: "commandEnvironment",
  modelPrices: "modelPrices",
  retentionDays: "retentionDays",
  otlpEndpoint: "otlp.endpoint",
  otlpProtocol: "otlp.protocol",
  otlpContent: "otlp.exportContent",
  /** Both receiver settings (a change to either restarts it). */
  otlpReceiver: "otlp.receiver",
  otlpReceiverEnabled: "otlp.receiver.enabled",
  otlpReceiverPort: "otlp.receiver.port",
} as const;

/** A setting's key below the `agentAudit` section. */
export type SettingKey = Exclude<(typeof SETTINGS)[keyof typeof SETTINGS], typeof SETTINGS.section>;

/**
 * Settings a workspace may not set (they are `application`-scoped in package.json, and read
 * here from the user's level only): what the agent is told and may do (its system prompt, its
 * model, how many model calls and how much thinking a session may spend, how much tool output
 * the model is sent: a cloned repository's prompt could say "run curl … | sh", its budget
 * could spend 500 calls of an expensive model), where the API key is sent, where the trail is
 * kept (outside `.agent-audit/` it would be outside the file tools' guard), which environment
 * variables reach commands, how approvals are asked, what model calls are said to cost, how
 * long the trail is kept, and where sessions are exported to (with or without their content).
 * A cloned repository's .vscode/settings.json must not be able to steer the agent, redirect
 * the key or weaken the record. (Approval policies are the one exception: a workspace may make
 * them stricter, never looser.)
 */
export const USER_ONLY_SETTINGS = [SETTINGS.systemPrompt, SETTINGS.model, SETTINGS.maxIterations, SETTINGS.thinkingBudget, SETTINGS.maxToolOutputBytes, SETTINGS.anthropicBaseUrl, SETTINGS.trailPath, SETTINGS.commandEnvironment, SETTINGS.modalApprovals, SETTINGS.modelPrices, SETTINGS.retentionDays, SETTINGS.otlpEndpoint, SETTINGS.otlpProtocol, SETTINGS.otlpContent, SETTINGS.otlpReceiverEnabled, SETTINGS.otlpReceiverPort] as const;

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
  commandEnvironment: string[];
  /** Price overrides by model id or id prefix (src/shared/pricing.ts validates each entry). */
  modelPrices: Record<string, unknown>;
  /** Days to keep sealed segments (pruned after a run); 0 keeps everything. */
  retentionDays: number;
  /** OTLP/HTTP endpoint sessions are exported to after each run ("" = off). */
  otlpEndpoint: string;
  otlpProtocol: "http/protobuf" | "http/json";
  /** Export message content, tool arguments and results too (redacted as in the trail). */
  otlpContent: boolean;
  /** Receive other agents' OTLP telemetry on 127.0.0.1 into the trail. */
  otlpReceiverEnabled: boolean;
  otlpReceiverPort: number;
  /** Workspace values that were ignored (user-only settings, looser approval policies), named. */
  ignoredWorkspaceValues: string[];
}

/** The part of WorkspaceConfiguration we read (an in-memory fake in tests). */
export interface ConfigurationReader {
  get<T>(key: string): T | undefined;
  inspect<T>(key: string): { defaultValue?: T; globalValue?: T; workspaceValue?: T; workspaceFolderValue?: T } | undefined;
}

const STRICTNESS: Record<ApprovalPolicy, number> = { auto: 0, ask: 1, deny: 2 };

function policyEntries(raw: unknown): [string, ApprovalPolicy][] {
  if (!raw || typeof raw !== "object") return [];
  return Object.entries(raw as Record<string, unknown>).filter((e): e is [string, ApprovalPolicy] => e[1] === "auto" || e[1] === "ask" || e[1] === "deny");
}

/** Reads the settings afresh (changes apply to the next run), with sane values for bad input. */
export function readSettings(config: ConfigurationReader): AgentAuditSettings {
  const ignored: string[] = [];
  // User-only settings: the user's value (or the default); a workspace's value is reported.
  const userValue = <T>(key: string): T | undefined => {
    const i = config.inspect<T>(key);
    if (i?.workspaceValue !== undefined || i?.workspaceFolderValue !== undefined) ignored.push(`${SETTINGS.section}.${key}`);
    return i?.globalValue ?? i?.defaultValue;
  };
  const userStr = (key: string, fallback: string) => {
    const v = userValue<string>(key);
    return typeof v === "string" && v.trim() ? v.trim() : fallback;
  };
  const userInt = (key: string, fallback: number, min: number) => {
    const v = userValue<number>(key);
    return typeof v === "number" && Number.isFinite(v) && v >= min ? Math.floor(v) : fallback;
  };
  // Approval policy: the user's (over the defaults); a workspace may only make a tool stricter.
  const p = config.inspect<Record<string, unknown>>(SETTINGS.approvalPolicy);
  const policy: Record<string, ApprovalPolicy> = Object.fromEntries([...policyEntries(p?.defaultValue), ...policyEntries(p?.globalValue)]);
  for (const [tool, value] of [...policyEntries(p?.workspaceValue), ...policyEntries(p?.workspaceFolderValue)]) {
    if (STRICTNESS[value] >= STRICTNESS[policy[tool] ?? "auto"]) policy[tool] = value;
    else ignored.push(`${SETTINGS.section}.${SETTINGS.approvalPolicy}.${tool} = "${value}" (a workspace may only make approvals stricter)`);
  }
  const extraEnv = userValue<unknown>(SETTINGS.commandEnvironment);
  const thinking = userInt(SETTINGS.thinkingBudget, 0, 0);
  return {
    model: userStr(SETTINGS.model, "claude-sonnet-5"),
    maxIterations: userInt(SETTINGS.maxIterations, 10, 1),
    thinkingBudget: thinking > 0 ? Math.max(thinking, 1024) : 0,
    systemPrompt: ((v) => (typeof v === "string" ? v : ""))(userValue<unknown>(SETTINGS.systemPrompt)),
    approvalPolicy: policy,
    // Modal by default: a notification hides itself after a while, and a pending approval must not.
    modalApprovals: userValue<boolean>(SETTINGS.modalApprovals) !== false,
    anthropicBaseUrl: userStr(SETTINGS.anthropicBaseUrl, ""),
    trailPath: userStr(SETTINGS.trailPath, ".agent-audit/trail.db"),
    maxToolOutputBytes: userInt(SETTINGS.maxToolOutputBytes, 64 * 1024, 1024),
    commandEnvironment: Array.isArray(extraEnv) ? extraEnv.filter((n): n is string => typeof n === "string" && ENV_NAME.test(n)) : [],
    modelPrices: ((v) => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {}))(userValue<unknown>(SETTINGS.modelPrices)),
    retentionDays: ((v) => (typeof v === "number" && Number.isFinite(v) && v >= 0 ? Math.floor(v) : 0))(userValue<unknown>(SETTINGS.retentionDays)),
    otlpEndpoint: userStr(SETTINGS.otlpEndpoint, ""),
    otlpProtocol: userValue<string>(SETTINGS.otlpProtocol) === "http/json" ? "http/json" : "http/protobuf",
    otlpContent: userValue<boolean>(SETTINGS.otlpContent) === true,
    otlpReceiverEnabled: userValue<boolean>(SETTINGS.otlpReceiverEnabled) === true,
    otlpReceiverPort: ((v) => (typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 65536 ? v : 4318))(userValue<unknown>(SETTINGS.otlpReceiverPort)),
    ignoredWorkspaceValues: ignored,
  };
}
