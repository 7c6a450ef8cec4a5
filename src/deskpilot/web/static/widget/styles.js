/* The widget's stylesheet, added to the host page once: every rule is scoped under #dp-widget, and ids and classes
 * start with "dp-", so the host page's styles and ours do not clash. */
export const CSS = `
#dp-widget, #dp-widget * { box-sizing: border-box; font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif;
  font-size: 15px; line-height: 1.45; letter-spacing: normal; text-transform: none; text-align: left; float: none; }
#dp-widget { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; color: #1b1f24; }
#dp-widget button { cursor: pointer; margin: 0; font-weight: 600; border-radius: 8px; border: 1px solid #c4cbd3;
  background: #fff; color: #1b1f24; padding: 6px 12px; min-height: 34px; display: inline-flex; align-items: center; gap: 6px; box-shadow: none; }
#dp-widget button:hover:not(:disabled) { background: #eef1f4; }
#dp-widget button:disabled { opacity: .55; cursor: not-allowed; }
#dp-widget :focus-visible { outline: 3px solid #7fb2ea; outline-offset: 1px; }
#dp-widget .dp-w-icon { width: 18px; height: 18px; fill: none; stroke: currentColor; stroke-width: 2; stroke-linecap: round; stroke-linejoin: round; flex: none; }
#dp-widget #dp-launcher { position: absolute; right: 0; bottom: 0; border-radius: 999px; padding: 12px 18px; min-height: 48px;
  background: #0b5cad; border-color: #0b5cad; color: #fff; box-shadow: 0 4px 14px rgba(0,0,0,.25); }
#dp-widget #dp-launcher:hover { background: #094b8e; }
#dp-widget .dp-w-panel { position: absolute; right: 0; bottom: 64px; width: min(380px, calc(100vw - 24px));
  height: min(600px, calc(100vh - 110px)); display: flex; flex-direction: column; background: #fff;
  border: 1px solid #c4cbd3; border-radius: 14px; box-shadow: 0 10px 40px rgba(0,0,0,.25); overflow: hidden; }
#dp-widget .dp-w-panel[hidden] { display: none !important; }
#dp-widget .dp-w-header { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 10px 12px;
  background: #0b5cad; color: #fff; }
#dp-widget .dp-w-title { font-weight: 700; margin: 0; font-size: 16px; color: #fff; }
#dp-widget .dp-w-header button { background: transparent; border-color: transparent; color: #fff; padding: 4px; min-height: 30px; }
#dp-widget .dp-w-header button:hover { background: rgba(255,255,255,.15); }
#dp-widget #dp-messages { flex: 1; overflow-y: auto; padding: 12px; background: #f6f7f9; display: flex; flex-direction: column; gap: 10px; }
#dp-widget .dp-w-msg { max-width: 92%; padding: 8px 11px; border-radius: 12px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; }
#dp-widget .dp-w-user { align-self: flex-end; background: #0b5cad; color: #fff; border-bottom-right-radius: 4px; }
#dp-widget .dp-w-bot { align-self: flex-start; background: #fff; border: 1px solid #d8dee4; border-bottom-left-radius: 4px; }
#dp-widget .dp-w-typing { color: #57606a; font-style: italic; }
#dp-widget .dp-w-ref { color: #0b5cad; font-size: 12px; vertical-align: super; text-decoration: none; font-weight: 700; }
#dp-widget .dp-w-sources { margin: 8px 0 0; padding: 6px 0 0 20px; border-top: 1px solid #e3e7eb; white-space: normal; font-size: 13px; }
#dp-widget .dp-w-sources li { margin: 2px 0; font-size: 13px; }
#dp-widget a.dp-citation { color: #0b5cad; text-decoration: underline; font-size: 13px; }
#dp-widget .dp-handoff { margin-top: 8px; padding: 8px 10px; border-radius: 8px; background: #e6f4ea; color: #0f5223;
  border: 1px solid #1a7f37; white-space: normal; font-weight: 600; align-self: stretch; max-width: 100%; }
#dp-widget .dp-w-error { background: #fdecea; color: #b3261e; border: 1px solid #b3261e; white-space: normal; align-self: stretch; font-weight: 600; }
#dp-widget .dp-w-rate { display: flex; align-items: center; gap: 6px; margin-top: 6px; white-space: normal; }
#dp-widget .dp-w-rate button { padding: 3px 7px; min-height: 28px; border-radius: 6px; color: #57606a; }
#dp-widget .dp-w-rate button[aria-pressed="true"] { background: #e8f0fb; border-color: #0b5cad; color: #0b5cad; }
#dp-widget .dp-down .dp-w-icon { transform: rotate(180deg); }
#dp-widget .dp-w-thanks { font-size: 12px; color: #57606a; }
#dp-widget .dp-w-comment { display: flex; gap: 6px; margin-top: 6px; white-space: normal; }
#dp-widget .dp-w-comment[hidden] { display: none !important; }
#dp-widget input.dp-comment { flex: 1; min-width: 0; border: 1px solid #c4cbd3; border-radius: 6px; padding: 4px 8px; font-size: 13px; background: #fff; color: #1b1f24; }
#dp-widget .dp-w-form { display: flex; gap: 8px; padding: 10px 12px 6px; border-top: 1px solid #d8dee4; background: #fff; margin: 0; }
#dp-widget #dp-input { flex: 1; min-width: 0; resize: none; border: 1px solid #c4cbd3; border-radius: 8px; padding: 7px 9px;
  background: #fff; color: #1b1f24; max-height: 120px; margin: 0; }
#dp-widget #dp-send { background: #0b5cad; border-color: #0b5cad; color: #fff; align-self: flex-end; }
#dp-widget #dp-send:hover:not(:disabled) { background: #094b8e; }
#dp-widget .dp-w-footer { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 2px 12px 10px; background: #fff; }
#dp-widget #dp-human { font-size: 13px; padding: 4px 10px; min-height: 30px; white-space: nowrap; flex: none; }
#dp-widget .dp-w-note { font-size: 11px; color: #57606a; }
#dp-widget .dp-w-sr { position: absolute !important; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) {
  #dp-widget { right: 10px; bottom: 10px; }
  #dp-widget .dp-w-panel { width: calc(100vw - 20px); height: calc(100vh - 90px); }
}
@media (prefers-reduced-motion: no-preference) { #dp-widget .dp-w-panel { animation: dp-w-in .15s ease-out; } }
@keyframes dp-w-in { from { opacity: 0; transform: translateY(8px); } to { opacity: 1; transform: none; } }`;
