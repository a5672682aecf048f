import WebSocket from 'ws';

/** Opens a websocket to the test upstream (test/support/upstream.ts) and resolves with the user it saw in its first message. */
export function wsHello(wsUrl: string, cookie: string): Promise<unknown> {
  return new Promise((ok, fail) => {
    const ws = new WebSocket(wsUrl, { headers: { cookie } });
    ws.once('message', (m) => {
      ok((JSON.parse(m.toString()) as { hello: unknown }).hello);
      ws.close();
    });
    ws.once('error', fail);
    ws.once('unexpected-response', (_req, res) => fail(new Error(`upgrade refused: ${res.statusCode}`)));
  });
}
