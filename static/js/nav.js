// The main navigation's "Menu" button: below 768 px (msops.css) the menu folds
// behind it. Without this script the button stays hidden and the menu shows whole.
(function () {
  "use strict";

  function setOpen(nav, open) {
    nav.dataset.menu = open ? "open" : "closed";
    nav.querySelector(".nav-toggle button").setAttribute("aria-expanded", String(open));
  }

  function prepare() {
    document.querySelectorAll("nav[data-main-nav]:not([data-menu])").forEach(function (nav) {
      var toggle = nav.querySelector(".nav-toggle");
      if (!toggle) return;
      toggle.hidden = false;
      setOpen(nav, false);
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("nav[data-menu] .nav-toggle button");
    if (!button) return;
    var nav = button.closest("nav[data-menu]");
    setOpen(nav, nav.dataset.menu !== "open");
  });

  // Escape closes an open menu and gives the focus back to its button.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var nav = event.target.closest && event.target.closest("nav[data-menu='open']");
    if (!nav) return;
    setOpen(nav, false);
    nav.querySelector(".nav-toggle button").focus();
  });

  document.addEventListener("DOMContentLoaded", prepare);
  // Content that htmx swaps in may bring a fresh navigation.
  document.addEventListener("htmx:load", prepare);
})();
