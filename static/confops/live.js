// A page that refreshes itself must not look live when it is not: when a refresh gets no answer
// (the portal is down or restarting) or an error, a banner says since when, and the page is
// dimmed until a refresh succeeds again.
(function () {
  var lostSince = null;

  function banner() {
    var el = document.getElementById("connection-lost");
    if (!el) {
      el = document.createElement("div");
      el.id = "connection-lost";
      el.className = "connection-lost";
      el.setAttribute("role", "alert");
      document.body.insertBefore(el, document.body.firstChild);
    }
    return el;
  }

  function lost(event) {
    if (!event.detail.elt || !event.detail.elt.hasAttribute("hx-trigger")) return;
    if (lostSince === null) lostSince = new Date();
    var status = event.detail.xhr && event.detail.xhr.status ? " (HTTP " + event.detail.xhr.status + ")" : "";
    banner().textContent =
      "No answer from confops since " + lostSince.toLocaleTimeString() + status +
      ": what you see is not live. Retrying on every refresh.";
    document.body.classList.add("stale");
  }

  function back(event) {
    if (lostSince === null || !event.detail.successful) return;
    lostSince = null;
    var el = document.getElementById("connection-lost");
    if (el) el.remove();
    document.body.classList.remove("stale");
  }

  document.addEventListener("htmx:sendError", lost);
  document.addEventListener("htmx:responseError", lost);
  document.addEventListener("htmx:timeout", lost);
  document.addEventListener("htmx:afterRequest", back);
})();
