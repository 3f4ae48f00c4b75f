// GET /: every demo one click away, and the event stream arriving live below.

#include "demos.hpp"
#include <vial/http/response.hpp>

namespace examples {
namespace {

constexpr const char* index_html = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vial examples</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
  code { background: #f3f3f3; padding: 0 .25rem; }
  #events { font-family: monospace; border: 1px solid #ccc; padding: .5rem; min-height: 3rem; }
</style>
</head>
<body>
<h1>vial examples</h1>
<p>Flask 2 async views, rewritten in C++ with vial. Every response carries
<code>X-Request-Duration</code>.</p>
<ul>
  <li><a href="/hello">/hello</a>: a plain view; <a href="/hello-async">/hello-async</a>: the same from a coroutine</li>
  <li><a href="/data?ms=1000">/data?ms=1000</a>: waits in a coroutine, then <code>Done!</code></li>
  <li><a href="/upstream/delay?ms=200">/upstream/delay?ms=200</a>: the mock upstream</li>
  <li><a href="/fanout?n=20&amp;ms=200">/fanout?n=20&amp;ms=200</a>: 20 concurrent client calls with <code>gather</code></li>
  <li><a href="/fanout-sync?n=5&amp;ms=200">/fanout-sync?n=5&amp;ms=200</a>: the same calls one after another</li>
  <li><a href="/users">/users</a>: a users API over SQLite (POST, GET, PUT, DELETE <code>/users/&lt;id&gt;</code>)</li>
  <li><a href="/stream?n=10&amp;ms=500">/stream?n=10&amp;ms=500</a>: server-sent events</li>
  <li><code>POST /send-email</code> then <code>/tasks/&lt;id&gt;</code>: background work</li>
  <li><a href="/with-timeout?ms=200&amp;timeout=500">/with-timeout?ms=200&amp;timeout=500</a> and
      <a href="/with-timeout?ms=2000&amp;timeout=500">?ms=2000&amp;timeout=500</a> (504)</li>
  <li><code>/ws/echo</code>: a WebSocket echo; <code>/ws/chat/&lt;room&gt;</code>: a chat room (below)</li>
  <li><a href="/boom">/boom</a>: a handler that throws (500), <a href="/nowhere">/nowhere</a> (404)</li>
  <li><a href="/metrics">/metrics</a>: Prometheus metrics (requests by route, latency, queues, the client's pool)</li>
</ul>
<h2>Live: <code>/stream?n=20&amp;ms=300</code></h2>
<div id="status">connecting…</div>
<div id="events"></div>
<script>
  const events = document.getElementById("events");
  const status = document.getElementById("status");
  const source = new EventSource("/stream?n=20&ms=300");
  let received = 0;
  source.onopen = () => { status.textContent = "streaming"; };
  source.onmessage = (e) => {
    received += 1;
    const line = document.createElement("div");
    line.className = "event";
    line.textContent = "event " + e.data;
    events.appendChild(line);
    status.textContent = "received " + received + " events";
    if (received === 20) { source.close(); status.textContent = "done: 20 events"; }
  };
  source.onerror = () => { if (received < 20) status.textContent = "stream error"; source.close(); };
</script>
<h2>Chat: <code>/ws/chat/<span id="chat-room">lobby</span></code></h2>
<div id="chat-status">connecting…</div>
<div id="chat"></div>
<form id="chat-form"><input id="chat-input" autocomplete="off"> <button>Send</button></form>
<script>
  // ?room=name picks the room. Every text message sent to the room reaches every page in it.
  const room = new URLSearchParams(location.search).get("room") || "lobby";
  document.getElementById("chat-room").textContent = room;
  const chatStatus = document.getElementById("chat-status");
  const chat = document.getElementById("chat");
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + location.host + "/ws/chat/" + encodeURIComponent(room));
  socket.onopen = () => { chatStatus.textContent = "connected"; };
  socket.onclose = (e) => { chatStatus.textContent = "closed " + e.code; };
  socket.onmessage = (e) => {
    const line = document.createElement("div");
    line.className = "chat";
    line.textContent = e.data;
    chat.appendChild(line);
  };
  function sendChat(text) { socket.send(text); }
  document.getElementById("chat-form").onsubmit = (e) => {
    e.preventDefault();
    const input = document.getElementById("chat-input");
    if (input.value) sendChat(input.value);
    input.value = "";
  };
</script>
</body>
</html>
)html";

}  // namespace

void register_index(vial::app& app) {
  app.get("/", [] { return vial::response::html(index_html); });
}

}  // namespace examples
