/* Server-Sent Events from a fetch response, shared by the staff pages and the widget (bundled into widget.js).
 * (EventSource cannot POST nor send an Authorization header, hence fetch and this parser.)
 *
 *   readEvents(response, onEvent)   read a text/event-stream response: onEvent(name, data) for each event
 */

/**
 * A Server-Sent Events parser: feed it text chunks, it calls onEvent(name, data) for each event.
 * Handles \n, \r\n and \r line ends (sse-starlette sends \r\n), comments (`: ping`), multi-line data.
 * `data` is parsed as JSON when it can be, else given as the raw string.
 */
function sseParser(onEvent) {
  let buffer = "";
  let event = "";
  let data = [];
  function line(text) {
    if (text === "") { // blank line: dispatch
      if (data.length) {
        const raw = data.join("\n");
        let value = raw;
        try { value = JSON.parse(raw); } catch (_e) { /* keep the raw string */ }
        onEvent(event || "message", value);
      }
      event = ""; data = [];
      return;
    }
    if (text.startsWith(":")) return; // comment / keep-alive
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return {
    push(chunk) {
      buffer += chunk;
      // A trailing \r may be the first half of \r\n: keep it until the next chunk.
      const hold = buffer.endsWith("\r") ? 1 : 0;
      const usable = buffer.slice(0, buffer.length - hold);
      const parts = usable.split(/\r\n|\r|\n/);
      const rest = parts.pop(); // incomplete last line
      buffer = rest + buffer.slice(buffer.length - hold);
      for (const p of parts) line(p);
    },
    end() {
      if (buffer) { const parts = buffer.split(/\r\n|\r|\n/); buffer = ""; for (const p of parts) line(p); }
      line(""); // dispatch whatever is pending
    },
  };
}

/**
 * Read a (2xx) response's event stream: onEvent(name, data) for each event; resolves when the stream ends.
 * A server (or proxy) that answered with plain JSON instead has it handed over as one `final` event.
 */
export async function readEvents(response, onEvent) {
  const parser = sseParser(onEvent);
  const type = response.headers.get("content-type") || "";
  if (!response.body || !type.includes("text/event-stream")) {
    const text = await response.text();
    try { onEvent("final", JSON.parse(text)); } catch (_e) { parser.push(text); parser.end(); }
    return;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder("utf-8");
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(decoder.decode(value, { stream: true }));
  }
  parser.push(decoder.decode());
  parser.end();
}
