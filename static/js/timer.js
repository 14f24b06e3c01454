/* msops: the running timer's elapsed time, live.
 *
 * Every element with data-timer-elapsed (the seconds the timer had run when
 * the server rendered it) counts on as h:mm, once a second. Elements htmx
 * swaps in are picked up on the next tick, so the script is loaded once
 * however many partials include it. No inline script or handler: the CSP
 * allows neither. The timer itself lives on the server; this only shows it.
 */
(function () {
  "use strict";
  if (window.msopsTimer) {
    return;
  }
  window.msopsTimer = true;

  function hm(seconds) {
    var minutes = Math.max(0, Math.floor(seconds / 60));
    var rest = minutes % 60;
    return Math.floor(minutes / 60) + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-timer-elapsed]").forEach(function (element) {
      if (!element.dataset.timerBase) {
        var elapsed = Number(element.dataset.timerElapsed) || 0;
        element.dataset.timerBase = String(now - elapsed * 1000);
      }
      var text = hm((now - Number(element.dataset.timerBase)) / 1000);
      if (element.textContent !== text) {
        element.textContent = text;
      }
    });
  }

  window.msopsTimer = { tick: tick, hm: hm };
  tick();
  window.setInterval(tick, 1000);
  document.addEventListener("htmx:afterSettle", tick);
})();
