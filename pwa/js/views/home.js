// #/home: greeting, the citizen's main destinations and the latest notices.

import { api } from "../api.js";
import { h, heading, icon } from "../dom.js";
import { formatDateTime, getLang, t } from "../i18n.js";

const NOTICES_SHOWN = 5;

function tile(href, ico, title, desc) {
  return h("li", {},
    h("a", { href, class: "tile" },
      h("span", { class: "tile-icon" }, icon(ico)),
      h("span", { class: "tile-text" },
        h("span", { class: "tile-title" }, title),
        h("span", { class: "tile-desc" }, desc)),
      icon("chevron", "tile-chevron")));
}

/** The latest notices of the profile shown (own profile or a child's). */
async function noticesSection(profile) {
  const title = profile.relation === "self"
    ? t("home.notices")
    : t("home.notices.for", { name: `${profile.first_name} ${profile.used_name || profile.birth_name}` });
  let notices;
  try {
    notices = await api.get(`/api/profiles/${profile.id}/notifications`);
  } catch {
    return null; // notices are a convenience: the page works without them
  }
  const en = getLang() === "en";
  return h("section", { class: "section panel", "aria-labelledby": "notices-title" },
    h("h2", { id: "notices-title", class: "with-icon" }, icon("bell"), title),
    notices.length
      ? h("ul", { class: "list notices", id: "notices-list" },
        ...notices.slice(0, NOTICES_SHOWN).map((n) => h("li", { class: "list-item", "data-kind": n.kind },
          h("div", { class: "list-main" },
            h("p", {}, en ? n.text_en : n.text_fr),
            h("p", { class: "muted" }, h("time", { datetime: n.created_at }, formatDateTime(n.created_at)))))))
      : h("p", { class: "muted" }, t("home.notices.empty")),
    notices.length ? h("p", {}, h("a", { href: "#/privacy/history", class: "link-arrow" }, t("home.notices.history"))) : null);
}

export async function render(ctx) {
  const { me, offline } = ctx.state;
  const others = (me.profiles || []).filter((p) => p.relation !== "self");
  const shown = ctx.profile();
  const noticesFor = shown && ["self", "parent"].includes(shown.relation) ? shown : ctx.selfProfile();
  const notices = !offline && noticesFor ? await noticesSection(noticesFor) : null;
  const view = h("div", { class: "view" },
    heading(t("home.title", { name: me.display_name })),
    offline ? h("div", { class: "notice notice-warning" }, h("p", {}, t("home.offline"))) : null,
    h("p", { class: "lead" }, t("home.intro")),
    h("ul", { class: "tiles" },
      tile("#/card", "card", t("home.tile.card"), t("home.tile.card.desc")),
      offline ? null : tile("#/documents", "doc", t("home.tile.documents"), t("home.tile.documents.desc")),
      offline ? null : tile("#/privacy", "lock", t("home.tile.privacy"), t("home.tile.privacy.desc")),
      offline ? null : tile("#/delegations", "people", t("home.tile.delegations"), t("home.tile.delegations.desc")),
      offline ? null : tile("#/security", "shield", t("home.tile.security"), t("home.tile.security.desc"))),
    notices);

  if (others.length) {
    view.append(h("section", { class: "section", "aria-labelledby": "profiles-title" },
      h("h2", { id: "profiles-title" }, t("home.profiles")),
      h("ul", { class: "profile-list" },
        ...others.map((p) => h("li", { class: "profile-item" },
          h("span", { class: "profile-name" }, `${p.first_name} ${p.used_name || p.birth_name}`),
          h("span", { class: "badge badge-neutral" }, t(`relation.${p.relation}`)),
          h("a", { href: `#/card/${p.id}`, class: "link-arrow" },
            t("card.beneficiaries.see", { name: p.first_name })))))));
  }
  return view;
}
