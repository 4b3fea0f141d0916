// The reference a user would pick instead of the chat server: the canonical Socket.IO chat-room
// server. No accounts, no persistence: `join` puts the socket in a room, `chat` broadcasts to the
// room's other members (`socket.to(room).emit`, like the chat server, which answers its sender
// with an ack instead of an echo) and calls the acknowledgement.
//
//   node bench/socketio/server.mjs [port]    (prints "socket.io listening on 127.0.0.1:PORT")
//
// Started by the load generator (`bench/loadgen`), which speaks Engine.IO v4 / Socket.IO v5 over
// a raw WebSocket (`/socket.io/?EIO=4&transport=websocket`).
import { createServer } from 'node:http';
import { Server } from 'socket.io';

const port = Number(process.argv[2] ?? 0);
const httpServer = createServer();
const io = new Server(httpServer, { transports: ['websocket'], serveClient: false });

io.on('connection', (socket) => {
  socket.on('join', (room, ack) => {
    socket.join(room);
    if (typeof ack === 'function') ack();
  });
  // `chat` room, text[, padding], ack: the padding (the benchmark's 100-300-byte bodies) is
  // relayed as it came.
  socket.on('chat', (room, text, ...rest) => {
    const ack = typeof rest.at(-1) === 'function' ? rest.pop() : null;
    socket.to(room).emit('chat', room, text, ...rest);
    if (ack) ack();
  });
});

httpServer.listen(port, '127.0.0.1', () => {
  console.error(`socket.io listening on 127.0.0.1:${httpServer.address().port}`);
});

const stop = () => {
  io.close();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
