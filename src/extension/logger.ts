/** Log lines tagged with the component that wrote them; never secrets. */
export interface Logger {
  /** Shown when the output channel's level is Debug (Developer: Set Log Level…). */
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** The part of vscode.LogOutputChannel the logger uses. */
export interface LogSink {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export function componentLogger(sink: LogSink, component: string): Logger {
  return {
    debug: (m) => sink.debug(`[${component}] ${m}`),
    info: (m) => sink.info(`[${component}] ${m}`),
    warn: (m) => sink.warn(`[${component}] ${m}`),
    error: (m) => sink.error(`[${component}] ${m}`),
  };
}
