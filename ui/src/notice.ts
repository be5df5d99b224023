// A problem said to a person: the sentence in the current language, and the
// technical detail (a library's own words) behind a "Details" toggle.

import type { AppError } from "./bindings";
import { h } from "./dom";
import { errorText, t } from "./i18n";

/** The technical detail of a problem, folded away. */
export function details(detail: string): HTMLElement {
  return h("details", {}, h("summary", {}, t("Details")), h("code", { class: "detail" }, detail));
}

export function notice(error: AppError, attrs: { id?: string; class?: string } = {}): HTMLElement {
  const el = h("div", { class: `notice ${attrs.class ?? ""}`.trim(), role: "alert", id: attrs.id, "data-code": error.code },
    h("p", {}, errorText(error)));
  if (error.detail) el.append(details(error.detail));
  return el;
}
