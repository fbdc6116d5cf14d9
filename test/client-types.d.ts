// socket.io-client 3.x installed under an alias; its typings do not resolve through "exports". Same API as 4.x for what the tests use.
declare module "socket.io-client-v3" {
  export const io: typeof import("socket.io-client").io;
}
