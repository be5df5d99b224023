// Small helpers to build the DOM without innerHTML, so names from the server are never markup.

type Attrs = Record<string, string | boolean | undefined>;
type Child = Node | string | null | undefined | false;

/** Creates `<tag attrs>children</tag>`; `on*` handlers are added with `on()`. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === undefined) continue;
    if (name === "class") el.className = String(value);
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** Replaces everything in `root` with `screen`. */
export function show(root: HTMLElement, screen: HTMLElement): void {
  root.replaceChildren(screen);
}
