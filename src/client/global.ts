/** The classic-script build (client.min.js): sets window.WsEmit. */
import { connect } from "./index.ts";

(globalThis as any).WsEmit = { connect };
