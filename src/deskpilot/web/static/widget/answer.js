/* An assistant answer in the widget: its text with citation links, its sources, the hand-off notice when it went
 * to a person, and the thumbs (with an optional comment on a thumbs-down). */
import { el, safeUrl } from "../dom.js";
import { post, state } from "./client.js";
import { icon } from "./icons.js";

/** "[1]" / "[1, 2]" markers become links to the cited sources; the rest stays plain text. */
function renderAnswer(target, text, citations) {
  target.replaceChildren();
  const marker = /\[(\d{1,2}(?:\s*,\s*\d{1,2})*)\]/g;
  let last = 0;
  for (let m = marker.exec(text); m; m = marker.exec(text)) {
    target.append(text.slice(last, m.index));
    m[1].split(",").map((n) => parseInt(n, 10)).forEach((n) => {
      const cite = citations[n - 1];
      const url = cite && safeUrl(cite.url);
      target.append(url
        ? el("a", { class: "dp-w-ref", href: url, target: "_blank", rel: "noopener noreferrer", title: cite.title || "", text: `[${n}]` })
        : `[${n}]`);
    });
    last = marker.lastIndex;
  }
  target.append(text.slice(last));
}

export function handoffNotice(ticketId) {
  const ticket = ticketId !== null && ticketId !== undefined ? ` Your ticket number is #${ticketId}.` : "";
  return el("div", { class: "dp-handoff", role: "status",
    text: `A person from our team will reply here.${ticket} You can close this window; we will keep your conversation.` });
}

function rateButtons(node, index) {
  const conversationId = state.conversationId;
  const up = el("button", { type: "button", class: "dp-up", "aria-label": "Helpful answer", "aria-pressed": "false" }, icon("thumb"));
  const down = el("button", { type: "button", class: "dp-down", "aria-label": "Unhelpful answer", "aria-pressed": "false" }, icon("thumb"));
  const thanks = el("span", { class: "dp-w-thanks", role: "status" });
  const comment = el("input", { type: "text", class: "dp-comment", maxlength: "4000", placeholder: "What was wrong? (optional)", "aria-label": "What was wrong with this answer? (optional)" });
  const sendComment = el("button", { type: "submit", class: "dp-comment-send", text: "Send" });
  const form = el("form", { class: "dp-w-comment", hidden: true }, comment, sendComment);

  async function rate(rating, text) {
    up.disabled = down.disabled = sendComment.disabled = true;
    thanks.textContent = "";
    try {
      const body = { conversation_id: conversationId, message_index: index, rating };
      if (text) body.comment = text;
      await post("/v1/feedback", body);
      up.setAttribute("aria-pressed", String(rating === "up"));
      down.setAttribute("aria-pressed", String(rating === "down"));
      form.hidden = true;
      thanks.textContent = "Thanks for your feedback!";
    } catch (err) {
      thanks.textContent = `Feedback not sent: ${err.message}`;
    } finally {
      up.disabled = down.disabled = sendComment.disabled = false;
    }
  }
  up.addEventListener("click", () => rate("up"));
  down.addEventListener("click", () => { form.hidden = false; comment.focus(); });
  form.addEventListener("submit", (event) => { event.preventDefault(); rate("down", comment.value.trim()); });
  comment.addEventListener("keydown", (event) => {
    if (event.key === "Escape") { event.preventDefault(); form.hidden = true; down.focus(); } // closes the box, not the chat
  });
  if (!conversationId) { up.disabled = down.disabled = true; up.title = down.title = "Feedback needs a saved conversation"; }
  node.append(el("div", { class: "dp-w-rate" }, el("span", { class: "dp-w-thanks", text: "Was this helpful?" }), up, down, thanks), form);
}

export function showFinal(node, final) {
  if (final.conversation_id) state.conversationId = final.conversation_id;
  const index = state.assistantTurns++;
  const citations = Array.isArray(final.citations) ? final.citations : [];
  node.dataset.decision = final.decision || "answer";
  node.dataset.index = String(index);
  if (typeof final.confidence === "number") node.dataset.confidence = String(final.confidence);
  const text = el("div", { class: "dp-w-text" });
  renderAnswer(text, final.answer || "", citations); // replaces the streamed text: the server may drop sentences
  node.replaceChildren(text);
  if (citations.length) {
    node.append(el("ol", { class: "dp-w-sources", "aria-label": "Sources" },
      ...citations.map((c) => {
        const url = safeUrl(c.url);
        return el("li", {}, el("a", { class: "dp-citation", href: url, target: url ? "_blank" : null,
          rel: "noopener noreferrer", title: c.snippet || null, "data-source-id": c.source_id, text: c.title || c.source_id || "Source" }));
      })));
  }
  if (final.decision === "escalate") {
    state.handedOff = Boolean(final.ticket_id !== null && final.ticket_id !== undefined);
    node.append(handoffNotice(final.ticket_id));
  }
  rateButtons(node, index);
}

export function showError(node, message) {
  node.className = "dp-w-msg dp-w-error dp-error";
  node.removeAttribute("aria-busy");
  node.setAttribute("role", "alert");
  node.textContent = `Sorry, something went wrong: ${message}. Please try again, or ask for a person.`;
}
