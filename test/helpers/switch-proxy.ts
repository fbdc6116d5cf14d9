/** A loopback TCP proxy whose backend can be switched: clients reconnect to the same address and reach another node. */

/** Listen on a free port; new connections go to `port` (or the last setTarget); either side closing cuts both. */
export function tcpProxy(port: number) {
  let target = port;
  type Pair = { up?: Bun.Socket<unknown>; pending: Uint8Array[] };
  const server = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        client.data = { pending: [] };
        Bun.connect({
          hostname: "127.0.0.1",
          port: target,
          socket: {
            open(up) {
              client.data.up = up;
              for (const p of client.data.pending) up.write(p);
              client.data.pending = [];
            },
            data: (_up, d) => void client.write(d),
            close: () => void client.end(),
            error: () => void client.end(),
          },
        }).catch(() => void client.end());
      },
      data(client, d) {
        if (client.data.up) client.data.up.write(d);
        else client.data.pending.push(new Uint8Array(d));
      },
      close: (client) => void client.data.up?.end(),
      error: (client) => void client.data.up?.end(),
    },
  });
  return { url: `http://127.0.0.1:${server.port}`, setTarget: (p: number) => (target = p), stop: () => server.stop(true) };
}

