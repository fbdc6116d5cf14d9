/**
 * wsify compatibility. Its clients connect to /ws like native ones and are handed over on their
 * first wsify command (see protocols/native); its backends POST /broadcast (ingest/wsify-broadcast.ts).
 * This adapter only registers the wire format its subscribers receive.
 */
import type { Adapter } from "../../../server/adapter.ts";
import { wsifyFormat } from "./codec.ts";

export const wsifyAdapter: Adapter = { name: "wsify", formats: [wsifyFormat] };
