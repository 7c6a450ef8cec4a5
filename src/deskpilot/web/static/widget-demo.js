/* The widget demo page: fill the embed snippet with this server's address and public key, and copy it. */
"use strict";
(function () {
  const pre = document.getElementById("dp-snippet");
  const status = document.getElementById("dp-snippet-status");

  function snippet(key) {
    const host = location.origin;
    return `<script src="${host}/static/widget.js"\n        data-key="${key || "PUBLIC_KEY"}"\n        data-api="${host}" defer></` + "script>";
  }

  pre.textContent = snippet("");
  fetch("/v1/widget/config", { headers: { Accept: "application/json" } })
    .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
    .then((config) => {
      pre.textContent = snippet(config.public_key);
      if (!config.public_key) status.textContent = "No public key is configured on this server yet: the chat cannot answer until one is.";
    })
    .catch((err) => { status.textContent = `Could not read /v1/widget/config (${err.message}).`; });

  document.getElementById("dp-copy-snippet").addEventListener("click", async () => {
    const text = pre.textContent;
    try {
      await navigator.clipboard.writeText(text);
    } catch (_e) { // no clipboard API (plain http): select the text and use the legacy command
      const range = document.createRange();
      range.selectNodeContents(pre);
      const selection = getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      document.execCommand("copy");
    }
    status.textContent = "Copied.";
  });
})();
