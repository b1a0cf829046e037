/* global document, window */
/**
 * DOM helpers. Elements are built from properties and text nodes only, never from markup
 * strings: whatever a user, an IdP or an attribute value contains is shown as text.
 */

const PROPERTIES = new Set(['value', 'checked', 'selected', 'disabled', 'hidden', 'open']);

/** h('a', { href: '#/users', class: 'x', onclick: fn }, 'text', child, [more]) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    parent.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return parent;
}

export function replace(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

/** A labelled form field: label, control and optional help, linked by id. */
export function field(id, labelText, control, help) {
  control.id = id;
  if (help) control.setAttribute('aria-describedby', `${id}-help`);
  return h('div', { class: 'field' }, h('label', { for: id }, labelText), control, help && h('p', { class: 'help', id: `${id}-help` }, help));
}

export function options(list, selected) {
  return list.map(([value, text]) => h('option', { value, selected: value === selected }, text));
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

let toastTimer;
export function toast(message) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.classList.add('show');
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => el.classList.remove('show'), 3200);
}

/** A visible error for a failed call, with the server's message. */
export function errorNotice(error) {
  return h('div', { class: 'notice error', role: 'alert' }, error?.message ?? String(error));
}

/** Moves focus to a view's heading, so keyboard and screen-reader users land on the new content. */
export function focusHeading(root) {
  const heading = root.querySelector('h1');
  if (heading) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  window.scrollTo({ top: 0 });
}
