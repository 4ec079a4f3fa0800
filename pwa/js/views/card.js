// #/card and #/card/<profile id>: the card, its details, and the presentation QR.
// Online, the card is fetched and its snapshot kept in IndexedDB; offline,
// the snapshot is shown with a visible notice.

import { api } from "../api.js";
import { alertBox, badge, busy, facts, h, heading, icon, showError } from "../dom.js";
import {
  formatDate, formatDateTime, formatDuration, formatNir, t, tOr,
} from "../i18n.js";
import * as store from "../store.js";

function period(start, end) {
  if (start && end) return t("common.from_to", { start: formatDate(start), end: formatDate(end) });
  if (start) return t("common.from", { start: formatDate(start) });
  return "";
}

function fullName(identity) {
  const last = identity.used_name || identity.birth_name;
  return `${(identity.first_names?.length ? identity.first_names : [identity.first_name]).join(" ")} ${last}`;
}

function simpleView(title, ...content) {
  return h("div", { class: "view" }, heading(title), ...content);
}

/** The card itself, drawn like a physical card. */
function cardVisual(card, nirEl) {
  const id = card.identity;
  return h("section", { class: "vitale", "aria-labelledby": "card-holder" },
    h("div", { class: "vitale-top" },
      h("span", { class: "vitale-brand" }, t("app.name")),
      h("span", { class: "vitale-kind" }, t("card.label"))),
    h("div", { class: "vitale-chip", "aria-hidden": "true" }),
    h("p", { class: "vitale-name", id: "card-holder" }, fullName(id)),
    h("dl", { class: "vitale-facts" },
      id.used_name ? h("div", {}, h("dt", {}, t("card.birth_name")), h("dd", {}, id.birth_name)) : null,
      h("div", {}, h("dt", {}, t("card.birth_date")), h("dd", {}, formatDate(id.birth_date))),
      h("div", { class: "vitale-nir" }, h("dt", {}, t("card.nir")), h("dd", {}, nirEl))),
    card.relation && card.relation !== "self"
      ? h("p", { class: "vitale-relation" }, t(`relation.${card.relation}`)) : null);
}

function insSection(ins, identity) {
  const status = ins.identity_status;
  return h("section", { class: "section panel", "aria-labelledby": "ins-title" },
    h("h2", { id: "ins-title" }, t("card.ins.title")),
    facts([
      [t("card.birth_name"), identity.birth_name],
      [t("card.used_name"), identity.used_name],
      [t("card.first_names"), (identity.first_names || [identity.first_name]).join(" ")],
      [t("card.birth_date"), formatDate(identity.birth_date)],
      [t("card.sex"), tOr(`card.sex.${identity.sex}`, identity.sex)],
      [t("card.birthplace"), identity.birthplace_code],
    ]),
    facts([
      [t("card.ins.value"), formatNir(ins.value)],
      [t("card.ins.status"), h("span", {}, badge(t(`ins.${status}`), status === "QUAL" ? "success" : "warning"),
        " ", h("span", { class: "muted" }, `(${status})`))],
    ]),
    h("p", { class: "muted" }, t(`ins.${status}.help`)),
    h("p", {}, ins.usable
      ? badge(t("card.ins.usable"), "success")
      : badge(t("card.ins.not_usable"), "warning")),
    // The OID names the INS's issuing register: for software and the curious, not at first sight.
    h("details", { class: "token-details", id: "ins-details" },
      h("summary", {}, t("card.ins.details")),
      facts([[t("card.ins.oid"), ins.oid]])));
}

function amoSection(amo) {
  return h("section", { class: "section panel", "aria-labelledby": "amo-title" },
    h("h2", { id: "amo-title" }, t("card.amo.title")),
    facts([
      [t("card.amo.regime"), amo.regime],
      [t("card.amo.caisse"), `${amo.caisse} (${amo.caisse_code})`],
      [t("card.amo.rights"), period(amo.rights_start, amo.rights_end)],
    ]),
    h("p", {}, amo.rights_active ? badge(t("card.amo.active"), "success") : badge(t("card.amo.inactive"), "error")));
}

function amcSection(amc) {
  const body = amc
    ? [facts([
      [t("card.amc.organisation"), amc.organisation],
      [t("card.amc.number"), amc.number],
      [t("card.amc.contract"), amc.contract],
      [t("card.amc.tpp"), period(amc.third_party_payment_start, amc.third_party_payment_end)],
    ]),
    h("p", {}, amc.third_party_payment_active
      ? badge(t("card.amc.tpp_active"), "success")
      : badge(t("card.amc.tpp_inactive"), "neutral"))]
    : [h("p", { class: "muted" }, t("card.amc.none"))];
  return h("section", { class: "section panel", "aria-labelledby": "amc-title" },
    h("h2", { id: "amc-title" }, t("card.amc.title")), ...body);
}

function beneficiariesSection(list) {
  if (!list?.length) return null;
  return h("section", { class: "section panel", "aria-labelledby": "beneficiaries-title" },
    h("h2", { id: "beneficiaries-title" }, t("card.beneficiaries.title")),
    h("ul", { class: "profile-list" },
      ...list.map((b) => h("li", { class: "profile-item" },
        h("span", { class: "profile-name" }, `${b.first_name} ${b.birth_name}`),
        h("span", { class: "muted" }, formatDate(b.birth_date)),
        h("a", { href: `#/card/${b.id}`, class: "link-arrow" },
          t("card.beneficiaries.see", { name: b.first_name }))))));
}

/** "Présenter ma carte": a short-lived QR code with its countdown. */
function presentation(ctx, card, isSelf) {
  const alert = alertBox("presentation-alert");
  const presentButton = h("button", { type: "button", id: "present-button", class: "btn btn-primary" },
    icon("qr"), t(isSelf ? "card.present.self" : "card.present.other"));
  const title = h("h2", { id: "presentation-title", tabindex: "-1" }, t("card.present.title"));
  const img = h("img", { id: "presentation-qr", class: "qr", alt: t("card.present.qr_alt"), width: "260", height: "260" });
  const timer = h("p", { id: "presentation-timer", class: "timer", role: "timer" });
  const live = h("p", { id: "presentation-live", class: "sr-only", "aria-live": "polite" });
  const renew = h("button", { type: "button", id: "presentation-renew", class: "btn btn-secondary" },
    t("card.present.new"));
  const tokenText = h("textarea", { id: "presentation-token-text", readonly: true, rows: "4", class: "token-text" });
  const details = h("details", { class: "token-details" },
    h("summary", {}, t("card.present.text")),
    h("label", { for: "presentation-token-text", class: "field-label" }, t("card.present.text_label")),
    tokenText);
  const panel = h("section", { id: "presentation", class: "panel presentation", "aria-labelledby": "presentation-title", hidden: true },
    title,
    h("p", {}, t("card.present.intro")),
    h("div", { class: "qr-box" }, img),
    timer, live,
    h("div", { class: "actions" }, renew),
    details);

  let interval = null;
  let lastSlot = null;
  const stop = () => {
    if (interval) clearInterval(interval);
    interval = null;
  };
  ctx.onLeave(() => {
    stop();
    tokenText.value = "";
  });

  function expire() {
    stop();
    img.alt = t("card.present.qr_expired_alt");
    img.classList.add("expired");
    tokenText.value = "";
    timer.textContent = t("card.present.expired");
    live.textContent = t("card.present.expired");
  }

  function start(expiresAt, skew) {
    stop();
    const end = new Date(expiresAt).getTime();
    lastSlot = null;
    const tick = () => {
      const remaining = Math.ceil((end - (Date.now() + skew)) / 1000);
      if (remaining <= 0) {
        expire();
        return;
      }
      timer.textContent = t("card.present.remaining", { time: formatDuration(remaining) });
      // Announce politely every 30 seconds, not every tick.
      const slot = Math.ceil(remaining / 30);
      if (lastSlot !== null && slot !== lastSlot) {
        live.textContent = t("card.present.announce", { time: formatDuration(slot * 30) });
      }
      lastSlot = slot;
    };
    tick();
    interval = setInterval(tick, 1000);
  }

  async function issue(button) {
    alert.replaceChildren();
    await busy(button, async () => {
      try {
        const { data, response } = await api.post(`/api/profiles/${card.id}/presentations`, {}, { raw: true });
        const serverNow = Date.parse(response.headers.get("date") || "");
        const skew = Number.isFinite(serverNow) ? serverNow - Date.now() : 0;
        img.src = data.qr;
        img.alt = t("card.present.qr_alt");
        img.classList.remove("expired");
        tokenText.value = data.token;
        panel.hidden = false;
        presentButton.hidden = true;
        live.textContent = t("card.present.ready");
        start(data.expires_at, Math.abs(skew) > 2000 ? skew : 0);
        if (button === presentButton) {
          title.focus({ preventScroll: true });
          panel.scrollIntoView({ block: "start" });
        }
      } catch (err) {
        if (err.network) ctx.setOffline(true);
        showError(alert, err);
      }
    });
  }

  presentButton.addEventListener("click", () => issue(presentButton));
  renew.addEventListener("click", () => issue(renew));
  return { presentButton, panel, alert };
}

export async function render(ctx) {
  const { state } = ctx;
  if (ctx.params[0] && !ctx.selectProfile(ctx.params[0])) {
    return simpleView(t("card.title.self"),
      h("div", { class: "notice notice-error" }, h("p", {}, t("card.not_found"))),
      h("p", {}, h("a", { href: "#/card", class: "btn btn-secondary" }, t("card.back_self"))));
  }
  const profile = ctx.profile();
  const isSelf = !profile || profile.relation === "self";
  const title = isSelf ? t("card.title.self") : t("card.title.other", { name: `${profile.first_name} ${profile.used_name || profile.birth_name}` });
  if (!profile) return simpleView(title, h("p", {}, t("card.not_found")));

  let card = null;
  let savedAt = null;
  if (!state.offline) {
    try {
      card = await api.get(`/api/profiles/${profile.id}/card`);
      await store.saveCard(state.me, card);
    } catch (err) {
      if (err.network) ctx.setOffline(true);
      else if (err.status === 404) {
        return simpleView(title, h("div", { class: "notice notice-error" }, h("p", {}, err.detail || t("card.not_found"))));
      } else throw err;
    }
  }
  if (!card) {
    const snap = await store.loadCard(profile.id);
    if (!snap) {
      return simpleView(title,
        h("div", { id: "offline-notice", class: "notice notice-offline" },
          icon("offline"), h("p", {}, t("card.offline.none"))));
    }
    card = snap.card;
    savedAt = snap.saved_at;
  }

  // NIR, masked unless asked.
  const nirValue = h("span", { id: "nir-value", class: "nir" }, card.nir_masked);
  const nirSr = h("span", { class: "sr-only" }, ` (${t("card.nir.masked_sr")})`);
  // The label says what the button does next ("Afficher" / "Masquer"), so no pressed state.
  const nirToggle = h("button", {
    type: "button", id: "nir-toggle", class: "btn btn-secondary", "aria-controls": "nir-value",
  }, t("card.nir.show"));
  let nirShown = false;
  nirToggle.addEventListener("click", () => {
    nirShown = !nirShown;
    nirToggle.textContent = t(nirShown ? "card.nir.hide" : "card.nir.show");
    nirValue.textContent = nirShown ? formatNir(card.nir) : card.nir_masked;
    nirSr.hidden = nirShown;
  });
  ctx.onLeave(() => { nirValue.textContent = ""; });

  const offlineNotice = savedAt !== null
    ? h("div", { id: "offline-notice", class: "notice notice-offline" },
      icon("offline"),
      h("p", {}, h("strong", {}, t("card.offline")), " — ",
        t("card.offline.detail", { date: formatDateTime(savedAt) })))
    : null;

  const actions = h("div", { class: "card-actions" }, nirToggle);
  let presentationParts = null;
  if (savedAt === null) {
    presentationParts = presentation(ctx, card, isSelf);
    actions.prepend(presentationParts.presentButton);
  } else {
    actions.append(h("p", { class: "muted" }, t("card.present.offline")));
  }

  const self = ctx.selfProfile();
  return h("div", { class: "view view-card" },
    heading(title),
    offlineNotice,
    h("div", { class: "card-stage" },
      cardVisual(card, h("span", {}, nirValue, nirSr)),
      actions,
      presentationParts?.alert,
      presentationParts?.panel),
    h("div", { class: "card-details" },
      insSection(card.ins, card.identity),
      amoSection(card.amo),
      amcSection(card.amc),
      beneficiariesSection(card.beneficiaries)),
    !isSelf && self ? h("p", {}, h("a", { href: `#/card/${self.id}`, class: "link-arrow" }, t("card.back_self"))) : null);
}
