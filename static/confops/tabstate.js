/* The tab carries the state (issue 18): after every htmx swap, the title's "(N) " prefix and the
   favicon follow the counters the server just sent (data-tab-count, data-tab-state on
   #status-counts or #alert-counters), so a background tab tells the on-call person something.
   The server renders both on the first load; this only keeps them in step. While live.js says
   the page is stale (body.stale, event "confops:stale") the favicon is grey: "unknown". */
(function () {
  "use strict";

  function titled(count) {
    var base = document.title.replace(/^\(\d+\) /, "");
    return count > 0 ? "(" + count + ") " + base : base;
  }

  function iconFor(state) {
    var icon = document.getElementById("favicon");
    var href = icon && icon.getAttribute("data-icon-" + state);
    if (href && icon.getAttribute("href") !== href) {
      icon.setAttribute("href", href);
    }
  }

  function follow() {
    // The page's own counters when it has some (they are swapped), else the icon's (tab_head).
    var counters = document.querySelector("body [data-tab-count]") ||
      document.querySelector("[data-tab-count]");
    if (!counters) {
      return;
    }
    var count = parseInt(counters.getAttribute("data-tab-count"), 10) || 0;
    var title = titled(count);
    if (document.title !== title) {
      document.title = title;
    }
    // Data live.js calls stale cannot vouch for anything: grey ("unknown") until it is live.
    var stale = document.body && document.body.classList.contains("stale");
    iconFor(stale ? "unknown" : counters.getAttribute("data-tab-state"));
  }

  // Whichever element a swap came from, the counters in the page now are what counts.
  document.addEventListener("htmx:afterSettle", follow);
  document.addEventListener("htmx:oobAfterSwap", follow);
  document.addEventListener("confops:stale", follow);
})();
