// #/home: greeting and the citizen's main destinations.

import { h, heading, icon } from "../dom.js";
import { t } from "../i18n.js";

function tile(href, ico, title, desc) {
  return h("li", {},
    h("a", { href, class: "tile" },
      h("span", { class: "tile-icon" }, icon(ico)),
      h("span", { class: "tile-text" },
        h("span", { class: "tile-title" }, title),
        h("span", { class: "tile-desc" }, desc)),
      icon("chevron", "tile-chevron")));
}

export async function render(ctx) {
  const { me, offline } = ctx.state;
  const others = (me.profiles || []).filter((p) => p.relation !== "self");
  const view = h("div", { class: "view" },
    heading(t("home.title", { name: me.display_name })),
    offline ? h("div", { class: "notice notice-warning" }, h("p", {}, t("home.offline"))) : null,
    h("p", { class: "lead" }, t("home.intro")),
    h("ul", { class: "tiles" },
      tile("#/card", "card", t("home.tile.card"), t("home.tile.card.desc")),
      offline ? null : tile("#/delegations", "people", t("home.tile.delegations"), t("home.tile.delegations.desc")),
      offline ? null : tile("#/security", "shield", t("home.tile.security"), t("home.tile.security.desc"))));

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
