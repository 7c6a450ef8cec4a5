/* DOM helpers shared by the staff pages and the widget (bundled into widget.js: no globals, no page ids).
 *
 *   el(tag, attrs, ...children)    an HTML element (text is always set as text, never as HTML)
 *   svgEl(tag, attrs, ...children) an SVG element (attributes only)
 *   safeUrl(url)                   an http(s) URL for a link, or null
 */

/**
 * An HTML element. attrs: `text`, `class`, `dataset` (an object), `value`, `on<event>` (a function), properties
 * given a non-string value (`disabled: true`, `hidden: true`), any other attribute as a string; null, undefined
 * and false are left out. Children (nested arrays are flattened) are nodes or text.
 */
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else if (name === "value") node.value = value;
    else if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else if (name in node && typeof value !== "string") node[name] = value; // e.g. disabled, checked, hidden
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  return withChildren(node, children);
}

/** An SVG element: every attribute set as given (null and undefined left out); children are nodes or text. */
export function svgEl(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  return withChildren(node, children);
}

function withChildren(node, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A safe http(s) URL for a link, or null (sources may carry file paths or junk). */
export function safeUrl(url) {
  if (!url) return null;
  try {
    const parsed = new URL(url, location.href);
    return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
  } catch (_e) { return null; }
}
