/* The widget's icons (Feather icons, MIT licence), built as SVG so that no font or image is needed. */
import { svgEl } from "../dom.js";

const ICONS = {
  chat: "M21 11.5a8.38 8.38 0 0 1-.9 3.8 8.5 8.5 0 0 1-7.6 4.7 8.38 8.38 0 0 1-3.8-.9L3 21l1.9-5.7a8.38 8.38 0 0 1-.9-3.8 8.5 8.5 0 0 1 4.7-7.6 8.38 8.38 0 0 1 3.8-.9h.5a8.48 8.48 0 0 1 8 8v.5z",
  thumb: "M14 9V5a3 3 0 0 0-3-3l-4 9v11h11.28a2 2 0 0 0 2-1.7l1.38-9a2 2 0 0 0-2-2.3zM7 22H4a2 2 0 0 1-2-2v-7a2 2 0 0 1 2-2h3",
  close: "M18 6 6 18M6 6l12 12",
  send: "M22 2 11 13M22 2l-7 20-4-9-9-4 20-7z",
};

export function icon(name, extraClass) {
  return svgEl("svg", { viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false",
    class: `dp-w-icon${extraClass ? ` ${extraClass}` : ""}` }, svgEl("path", { d: ICONS[name] }));
}
