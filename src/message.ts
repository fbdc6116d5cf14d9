/** An event on its way to subscribers, whatever it came in through. */
export interface EmitMessage {
  event: string;
  /** Zero or more arguments; Socket.IO sends each as a separate argument. */
  args: unknown[];
  /** Socket.IO namespace; native and SSE clients listen on "/". */
  namespace: string;
  /** Target rooms; null = every client of the namespace. */
  rooms: string[] | null;
}

/** Where an emit came from (for metrics and logs). */
export type IngestSource = "http" | "redis-json" | "redis-socketio" | "redis-emitter" | "cli" | "cluster";
