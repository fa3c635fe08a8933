/**
 * The span attribute names of both directions, spelled once: what the exporter writes
 * (genaiMapping.ts) and the receiver reads back (receivedMapping.ts), so the two cannot drift
 * apart. GenAI names are the OpenTelemetry semantic conventions pinned in genaiMapping.ts; the
 * `agent_audit.*` ones are ours, where the conventions have no name.
 */
export const GEN_AI = {
  operationName: "gen_ai.operation.name",
  providerName: "gen_ai.provider.name",
  agentName: "gen_ai.agent.name",
  agentId: "gen_ai.agent.id",
  agentDescription: "gen_ai.agent.description",
  conversationId: "gen_ai.conversation.id",
  requestModel: "gen_ai.request.model",
  requestMaxTokens: "gen_ai.request.max_tokens",
  responseModel: "gen_ai.response.model",
  responseId: "gen_ai.response.id",
  responseFinishReasons: "gen_ai.response.finish_reasons",
  usageInputTokens: "gen_ai.usage.input_tokens",
  usageOutputTokens: "gen_ai.usage.output_tokens",
  usageCacheReadInputTokens: "gen_ai.usage.cache_read.input_tokens",
  usageCacheCreationInputTokens: "gen_ai.usage.cache_creation.input_tokens",
  inputMessages: "gen_ai.input.messages",
  outputMessages: "gen_ai.output.messages",
  toolName: "gen_ai.tool.name",
  toolType: "gen_ai.tool.type",
  toolCallId: "gen_ai.tool.call.id",
  toolCallArguments: "gen_ai.tool.call.arguments",
  toolCallResult: "gen_ai.tool.call.result",
} as const;

/** `gen_ai.operation.name` values: a session, a model call, a tool call. */
export const GEN_AI_OPERATION = {
  invokeAgent: "invoke_agent",
  chat: "chat",
  executeTool: "execute_tool",
} as const;

/** The general convention's error class, on a failed span. */
export const ERROR_TYPE = "error.type";

/** Ours: what a trail event holds that the conventions have no name for. */
export const AGENT_AUDIT = {
  task: "agent_audit.task",
  sessionEnd: "agent_audit.session.end",
  agentVersion: "agent_audit.agent_version",
  userId: "agent_audit.user_id",
  requestId: "agent_audit.request_id",
  latencyMs: "agent_audit.latency_ms",
  executionTimeMs: "agent_audit.execution_time_ms",
  outcome: "agent_audit.outcome",
  /** A span event: a tool call's approval. */
  approval: "agent_audit.approval",
  approvalDecision: "agent_audit.approval.decision",
  approvalApproverId: "agent_audit.approval.approver_id",
  approvalAskedAt: "agent_audit.approval.asked_at",
  approvalReason: "agent_audit.approval.reason",
} as const;
