/** An event on its way to subscribers, whatever it came in through. */
export interface EmitMessage {
  event: string;
  /** Zero or more arguments; Socket.IO sends each as a separate argument. */
  args: unknown[];
  /** Socket.IO namespace; native and SSE clients listen on "/". */
  namespace: string;
  /** Target rooms; null = every client of the namespace. */
  rooms: string[] | null;
  /**
   * The payload exactly as a backend published it on a plain Redis channel (wsify, webdis,
   * wspush style). Formats that deliver verbatim send this text; the others send `args`
   * (which then holds this same string as its one argument).
   */
  raw?: string;
  /** Deliver only to these wire formats (plain Redis channels reach wsify/webdis/wspush clients only). */
  only?: string[];
}

/** Where an emit came from (for metrics and logs). */
export type IngestSource = "http" | "redis-json" | "redis-socketio" | "redis-emitter" | "redis-raw" | "wsify" | "webdis" | "cli" | "cluster";
