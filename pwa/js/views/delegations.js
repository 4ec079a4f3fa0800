// #/delegations: entrust the card (and, if chosen, the documents) to a
// trusted person, and accept an invitation. The access history is on #/privacy/history.

import { api } from "../api.js";
import {
  alertBox, badge, busy, clearErrors, field, h, heading, invalid, showError,
} from "../dom.js";
import { formatDate, t } from "../i18n.js";

const STATE_TONES = { pending: "warning", active: "success", expired: "neutral", revoked: "error" };
const SCOPES = ["present_card", "read_documents", "add_documents", "messaging"];
const MAX_DAYS = 365;

function isoDay(date) {
  const y = date.getFullYear();
  const m = String(date.getMonth() + 1).padStart(2, "0");
  const d = String(date.getDate()).padStart(2, "0");
  return `${y}-${m}-${d}`;
}

function addDays(days) {
  const d = new Date();
  d.setDate(d.getDate() + days);
  return d;
}

function profileName(p) {
  return `${p.first_name} ${p.used_name || p.birth_name}`;
}

function createSection(ctx, self, reload) {
  const alert = alertBox("delegation-alert");
  const result = h("div", { id: "invitation-result", class: "invitation-result" });
  const labelField = field({
    id: "delegation-label",
    label: t("deleg.label"),
    hint: t("deleg.label.hint"),
    required: true,
    autocomplete: "off",
    attrs: { maxlength: "100" },
  });
  const endField = field({
    id: "delegation-end",
    label: t("deleg.end"),
    hint: t("deleg.end.hint"),
    type: "date",
    required: true,
    value: isoDay(addDays(30)),
    attrs: { min: isoDay(addDays(1)), max: isoDay(addDays(MAX_DAYS - 1)) },
  });
  const boxes = SCOPES.map((s) => h("input", {
    type: "checkbox", id: `scope-${s.replace(/_/g, "-")}`, name: "scopes", value: s, checked: s === "present_card",
    "aria-describedby": "scope-present-card-error",
  }));
  const scope = boxes[0];
  const scopes = h("fieldset", { class: "fieldset" },
    h("legend", {}, t("deleg.scopes")),
    h("p", { id: "scope-present-card-error", class: "field-error", hidden: true }),
    ...boxes.map((box) => h("div", { class: "checkbox" },
      box, h("label", { for: box.id }, t(`deleg.scope.${box.value}`)))));
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("deleg.create.submit"));
  const form = h("form", { id: "delegation-form", class: "form", novalidate: true },
    alert, labelField, endField, scopes, submit);
  const label = labelField.querySelector("input");
  const end = endField.querySelector("input");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    if (!label.value.trim()) return invalid(alert, label, t("error.required"));
    const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(end.value);
    const endsAt = m ? new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), 23, 59, 0) : null;
    if (!endsAt || endsAt <= new Date() || endsAt > addDays(MAX_DAYS)) {
      return invalid(alert, end, t("deleg.end.error"));
    }
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    if (!chosen.length) return invalid(alert, scope, t("deleg.scopes.error"));
    await busy(submit, async () => {
      try {
        const out = await api.post(`/api/profiles/${self.id}/delegations`, {
          label: label.value.trim(),
          scopes: chosen,
          ends_at: endsAt.toISOString(),
        });
        const who = label.value.trim();
        form.reset();
        end.value = isoDay(addDays(30));
        for (const box of boxes) box.checked = box === scope;
        result.replaceChildren(h("div", { class: "notice notice-success" },
          h("h3", { id: "invitation-title", tabindex: "-1" }, t("deleg.code.title")),
          h("p", { class: "invitation-code", id: "invitation-code-value" }, out.invitation_code),
          h("p", {}, t("deleg.code.intro", { label: who }))));
        ctx.flash(t("deleg.code.created"));
        await reload();
        result.querySelector("h3").focus();
      } catch (err) {
        const first = showError(alert, err, form,
          { label: "delegation-label", ends_at: "delegation-end", scopes: "scope-present-card" });
        (first || label).focus();
      }
    });
    return true;
  });

  return h("section", { class: "section panel", "aria-labelledby": "create-title" },
    h("h2", { id: "create-title" }, t("deleg.create.title")),
    h("p", { class: "muted" }, t("deleg.create.intro")),
    form, result);
}

function delegationItem(ctx, d, reload) {
  const revocable = d.state === "pending" || d.state === "active";
  const meta = [
    t("deleg.created_at", { date: formatDate(d.created_at) }),
    d.accepted_at ? t("deleg.accepted_at", { date: formatDate(d.accepted_at) }) : null,
    d.revoked_at ? t("deleg.revoked_at", { date: formatDate(d.revoked_at) }) : null,
    t("deleg.ends_at", { date: formatDate(d.ends_at) }),
  ].filter(Boolean);
  const item = h("li", { class: "list-item delegation", "data-state": d.state },
    h("div", { class: "list-main" },
      h("p", { class: "list-title" }, d.label, " ", badge(t(`deleg.state.${d.state}`), STATE_TONES[d.state])),
      h("p", { class: "muted" }, meta.join(" · ")),
      h("p", { class: "muted" }, d.scopes.map((s) => t(`deleg.scope.${s}`)).join(", "))));
  if (!revocable) return item;

  const alert = alertBox(`revoke-alert-${d.id}`);
  const revoke = h("button", {
    type: "button", class: "btn btn-danger-quiet", "aria-label": t("deleg.revoke.aria", { label: d.label }),
  }, t("deleg.revoke"));
  const confirmBox = h("div", { class: "confirm", hidden: true },
    h("p", {}, t("deleg.revoke.question", { label: d.label })));
  const yes = h("button", { type: "button", class: "btn btn-danger" }, t("deleg.revoke.confirm"));
  const no = h("button", { type: "button", class: "btn btn-quiet" }, t("common.cancel"));
  confirmBox.append(h("div", { class: "actions" }, yes, no));
  revoke.addEventListener("click", () => {
    confirmBox.hidden = false;
    revoke.hidden = true;
    yes.focus();
  });
  no.addEventListener("click", () => {
    confirmBox.hidden = true;
    revoke.hidden = false;
    revoke.focus();
  });
  yes.addEventListener("click", () => busy(yes, async () => {
    try {
      await api.del(`/api/delegations/${d.id}`);
      ctx.flash(t("deleg.revoked"));
      await reload({ focusList: true });
    } catch (err) {
      showError(alert, err);
    }
  }));
  item.append(h("div", { class: "list-actions" }, revoke, confirmBox, alert));
  return item;
}

function acceptSection(ctx) {
  const alert = alertBox("accept-alert");
  const codeField = field({
    id: "invitation-code",
    label: t("deleg.accept.code"),
    hint: t("deleg.accept.code.hint"),
    required: true,
    autocomplete: "off",
    attrs: { maxlength: "40", spellcheck: "false", autocapitalize: "characters" },
  });
  const input = codeField.querySelector("input");
  const submit = h("button", { type: "submit", class: "btn btn-secondary" }, t("deleg.accept.submit"));
  const form = h("form", { id: "accept-form", class: "form", novalidate: true }, alert, codeField, submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!input.value.trim()) return invalid(alert, input, t("error.required"));
    await busy(submit, async () => {
      try {
        const out = await api.post("/api/delegations/accept", { code: input.value.trim() });
        await ctx.refreshMe();
        const owner = ctx.state.me?.profiles?.find((p) => p.id === out.owner);
        ctx.flash(owner ? t("deleg.accept.done", { name: profileName(owner) }) : t("deleg.accept.done_generic"),
          { next: true });
        ctx.rerender();
      } catch (err) {
        showError(alert, err, form, { code: "invitation-code" });
        input.focus();
      }
    });
    return true;
  });

  const entrusted = (ctx.state.me?.profiles || []).filter((p) => p.relation === "delegate");
  return h("section", { class: "section panel", "aria-labelledby": "accept-title" },
    h("h2", { id: "accept-title" }, t("deleg.accept.title")),
    h("p", { class: "muted" }, t("deleg.accept.intro")),
    form,
    h("h3", { id: "entrusted-title" }, t("deleg.entrusted.title")),
    entrusted.length
      ? h("ul", { class: "profile-list", "aria-labelledby": "entrusted-title" },
        ...entrusted.map((p) => h("li", { class: "profile-item" },
          h("span", { class: "profile-name" }, profileName(p)),
          p.until ? h("span", { class: "muted" }, t("common.until", { date: formatDate(p.until) })) : null,
          h("a", { href: `#/card/${p.id}`, class: "link-arrow" }, t("card.beneficiaries.see", { name: p.first_name })))))
      : h("p", { class: "muted" }, t("deleg.entrusted.empty")));
}

export async function render(ctx) {
  const self = ctx.selfProfile();
  const delegations = self ? await api.get(`/api/profiles/${self.id}/delegations`) : [];

  const listTitle = h("h2", { id: "delegations-title", tabindex: "-1" }, t("deleg.list.title"));
  const listBox = h("div", { id: "delegations-list" });

  async function reload({ focusList = false } = {}) {
    const fresh = await api.get(`/api/profiles/${self.id}/delegations`);
    fill(fresh);
    if (focusList) listTitle.focus();
  }

  function fill(items) {
    listBox.replaceChildren(items.length
      ? h("ul", { class: "list" }, ...items.map((d) => delegationItem(ctx, d, reload)))
      : h("p", { class: "muted" }, t("deleg.list.empty")));
  }
  fill(delegations);

  return h("div", { class: "view" },
    heading(t("deleg.title")),
    h("p", { class: "lead" }, t("deleg.intro")),
    self ? createSection(ctx, self, reload) : null,
    self ? h("section", { class: "section panel", "aria-labelledby": "delegations-title" }, listTitle, listBox) : null,
    acceptSection(ctx),
    h("p", {}, h("a", { href: "#/privacy/history", class: "link-arrow" }, t("deleg.history_link"))));
}
