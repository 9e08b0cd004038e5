/* The tab carries the state (issue 18): after every htmx swap, the title's "(N) " prefix and the
   favicon follow the counters the server just sent (data-tab-count, data-tab-state on
   #status-counts or #alert-counters), so a background tab tells the on-call person something.
   The server renders both on the first load; this only keeps them in step. */
(function () {
  "use strict";

  function titled(count) {
    var base = document.title.replace(/^\(\d+\) /, "");
    return count > 0 ? "(" + count + ") " + base : base;
  }

  function follow() {
    var counters = document.querySelector("[data-tab-count]");
    if (!counters) {
      return;
    }
    var count = parseInt(counters.getAttribute("data-tab-count"), 10) || 0;
    var title = titled(count);
    if (document.title !== title) {
      document.title = title;
    }
    var icon = document.getElementById("favicon");
    var href = icon && icon.getAttribute("data-icon-" + counters.getAttribute("data-tab-state"));
    if (href && icon.getAttribute("href") !== href) {
      icon.setAttribute("href", href);
    }
  }

  document.addEventListener("htmx:afterSettle", follow);
  document.addEventListener("htmx:oobAfterSwap", follow);
})();
