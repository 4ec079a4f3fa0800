// #/pro: the professional's identity and the card check (presentation token).

import { api } from "../api.js";
import {
  alertBox, badge, busy, clearErrors, facts, field, h, heading, invalid, showError,
} from "../dom.js";
import { formatDate, formatNir, t, tOr } from "../i18n.js";

function period(start, end) {
  if (start && end) return t("common.from_to", { start: formatDate(start), end: formatDate(end) });
  if (start) return t("common.from", { start: formatDate(start) });
  return "";
}

function verifiedCard(result) {
  const id = result.identity;
  const name = `${id.first_names.join(" ")} ${id.used_name || id.birth_name}`;
  const status = result.ins.identity_status;
  return h("section", { class: "panel verified", "aria-labelledby": "verify-result-title" },
    h("h3", { id: "verify-result-title", tabindex: "-1" }, t("pro.verify.ok")),
    h("p", {}, result.presented_by_delegate
      ? badge(t("pro.verify.delegate"), "warning")
      : badge(t("pro.verify.self"), "success")),
    h("h4", {}, t("pro.verify.identity")),
    facts([
      [t("card.name"), name],
      [t("card.birth_name"), id.used_name ? id.birth_name : null],
      [t("card.birth_date"), formatDate(id.birth_date)],
      [t("card.sex"), tOr(`card.sex.${id.sex}`, id.sex)],
      [t("card.birthplace"), id.birthplace_code],
    ]),
    h("h4", {}, t("card.ins.title")),
    facts([
      [t("card.ins.value"), formatNir(result.ins.value)],
      [t("card.ins.oid"), result.ins.oid],
      [t("card.ins.status"), `${t(`ins.${status}`)} (${status})`],
    ]),
    h("p", {}, result.ins.usable ? badge(t("card.ins.usable"), "success") : badge(t("card.ins.not_usable"), "warning")),
    h("h4", {}, t("card.amo.title")),
    facts([
      [t("card.amo.regime"), result.amo.regime],
      [t("card.amo.caisse"), `${result.amo.caisse} (${result.amo.caisse_code})`],
      [t("card.amo.rights"), period(result.amo.rights_start, result.amo.rights_end)],
    ]),
    h("p", {}, result.amo.rights_active ? badge(t("card.amo.active"), "success") : badge(t("card.amo.inactive"), "error")),
    h("h4", {}, t("card.amc.title")),
    result.amc
      ? [facts([
        [t("card.amc.organisation"), result.amc.organisation],
        [t("card.amc.number"), result.amc.number],
        [t("card.amc.contract"), result.amc.contract],
        [t("card.amc.tpp"), period(result.amc.third_party_payment_start, result.amc.third_party_payment_end)],
      ]),
      h("p", {}, result.amc.third_party_payment_active
        ? badge(t("card.amc.tpp_active"), "success") : badge(t("card.amc.tpp_inactive"), "neutral"))]
      : h("p", { class: "muted" }, t("card.amc.none")));
}

export async function render(ctx) {
  const me = await api.get("/api/pro/me");

  const alert = alertBox("verify-alert");
  const result = h("div", { id: "verify-result" });
  const tokenField = field({
    id: "presentation-token",
    label: t("pro.verify.token"),
    hint: t("pro.verify.token.hint"),
    required: true,
    multiline: true,
    autocomplete: "off",
    attrs: { rows: "4", spellcheck: "false", maxlength: "4096" },
  });
  const input = tokenField.querySelector("textarea");
  const submit = h("button", { type: "submit", class: "btn btn-primary" }, t("pro.verify.submit"));
  const form = h("form", { id: "verify-form", class: "form", novalidate: true }, alert, tokenField, submit);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const token = input.value.trim();
    if (!token) return invalid(alert, input, t("error.required"));
    await busy(submit, async () => {
      try {
        const out = await api.post("/api/pro/presentations/verify", { token });
        input.value = "";
        result.replaceChildren(verifiedCard(out));
        ctx.flash(t("pro.verify.ok.announce", {
          name: `${out.identity.first_name} ${out.identity.used_name || out.identity.birth_name}`,
        }));
        result.querySelector("h3").focus();
      } catch (err) {
        showError(alert, err, form, { token: "presentation-token" });
        input.focus();
      }
    });
    return true;
  });

  return h("div", { class: "view" },
    heading(t("pro.title")),
    h("section", { class: "section panel", "aria-labelledby": "pro-identity-title" },
      h("h2", { id: "pro-identity-title" }, t("pro.identity.title")),
      h("p", { class: "list-title" }, `${me.first_name} ${me.last_name}`),
      facts([
        [t("pro.profession"), me.profession],
        [t("pro.specialty"), me.specialty],
        [t("pro.structure"), me.structure_name],
        [t("pro.rpps"), me.rpps],
        [t("pro.national_id"), me.national_id],
        [t("pro.finess"), me.finess],
      ])),
    h("section", { class: "section panel", "aria-labelledby": "verify-title" },
      h("h2", { id: "verify-title" }, t("pro.verify.title")),
      h("p", { class: "muted" }, t("pro.verify.intro")),
      form,
      result));
}
