// A table box (.overflow-auto) that scrolls sideways becomes a keyboard stop with
// a name, so the arrow keys can scroll it (WCAG 2.1.1); one that fits is left alone.
(function () {
  "use strict";

  // The table's caption, or the nearest heading before the box.
  function nameOf(box) {
    var caption = box.querySelector("caption");
    if (caption) return caption.textContent.trim();
    for (var e = box; e && e !== document.body; e = e.previousElementSibling || e.parentElement) {
      if (/^H[1-6]$/.test(e.tagName)) return e.textContent.trim();
    }
    return "Table";
  }

  function mark() {
    document.querySelectorAll(".overflow-auto").forEach(function (box) {
      var scrolls = box.scrollWidth > box.clientWidth;
      if (scrolls && !box.hasAttribute("tabindex")) {
        box.tabIndex = 0;
        box.setAttribute("role", "group");
        box.setAttribute("aria-label", nameOf(box) + " (scrolls sideways)");
        box.dataset.scrollBox = "";
      } else if (!scrolls && "scrollBox" in box.dataset) {
        ["tabindex", "role", "aria-label", "data-scroll-box"].forEach(function (name) {
          box.removeAttribute(name);
        });
      }
    });
  }

  var pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      mark();
    });
  }

  document.addEventListener("DOMContentLoaded", mark);
  document.addEventListener("htmx:load", schedule);
  window.addEventListener("resize", schedule);
})();
