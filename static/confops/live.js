// A page that refreshes itself must not look live when it is not. A region that polls
// (hx-trigger "every Ns") carries data-live-seconds and data-live-from (the server's HH:MM:SS when
// it was rendered). When a refresh gets no answer or an error, or none has succeeded for two
// intervals (a server that hangs never errors), a banner says "connection lost: data from
// HH:MM:SS" and the page is dimmed (body.stale) until a refresh succeeds again. A refresh waits
// while the user types in a field or a dialog is open, and one that replaces the focused element
// puts the focus back on its counterpart (htmx does it for elements with an id; this, for the rest).
(function () {
  var TYPED_NOT = /^(button|submit|reset|checkbox|radio|hidden|image|file|range|color)$/;
  var FOCUSABLE = "a[href], button, input, select, textarea, summary, [tabindex]";
  var stamp = null;          // the server's HH:MM:SS of the data on screen
  var stampElt = null;       // the element it was read from (a new one means new data)
  var stampAt = Date.now();  // when, on the browser's clock, that data arrived
  var interval = null;       // seconds between refreshes
  var calmSince = Date.now(); // last success, page load, skipped refresh or tab shown again
  var failedAt = null;       // the first failure since the last success
  var failure = "";
  var saved = null;          // the focused element a swap is about to replace (without an id)

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function clock(ms) {
    // The server's clock face at `ms` on the browser's clock: the stamp plus the time elapsed
    // since it arrived, so the banner speaks in the same time as the page's "refreshed HH:MM:SS".
    var base = stamp ? stamp.split(":") : null;
    if (!base || base.length !== 3) {
      var d = new Date(ms);
      return pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds());
    }
    var s = (+base[0]) * 3600 + (+base[1]) * 60 + (+base[2]) + Math.floor((ms - stampAt) / 1000);
    s = ((s % 86400) + 86400) % 86400;
    return pad(Math.floor(s / 3600)) + ":" + pad(Math.floor(s / 60) % 60) + ":" + pad(s % 60);
  }

  function readStamp() {
    var el = document.querySelector("[data-live-from]");
    if (el && el !== stampElt) {
      stampElt = el;
      stamp = el.getAttribute("data-live-from");
      stampAt = Date.now();
      interval = parseFloat(el.getAttribute("data-live-seconds")) || interval;
    }
    var claims = document.querySelectorAll("[data-live-only][hidden]");
    for (var i = 0; i < claims.length; i++) claims[i].removeAttribute("hidden");
  }

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

  function show(why) {
    var text = "connection lost: data from " + clock(stampAt) + ". " + why +
      ": what you see is not live. Retrying on every refresh.";
    var el = banner();
    if (el.textContent !== text) el.textContent = text;
    stale(true);
  }

  function stale(on) {
    // Said once per change, for whatever else shows the state (tabstate.js greys the favicon).
    if (document.body.classList.contains("stale") === on) return;
    document.body.classList.toggle("stale", on);
    document.dispatchEvent(new CustomEvent("confops:stale", { detail: { stale: on } }));
  }

  function clear() {
    var el = document.getElementById("connection-lost");
    if (el) el.remove();
    stale(false);
  }

  function origin(event) {
    // The element that sent the request: htmx re-fires the events of one a swap removed on a
    // parent still in the page, and sets detail.elt to that parent.
    var config = event.detail.requestConfig;
    return (config && config.elt) || event.detail.elt;
  }

  function refreshing(elt) {
    return !!(elt && elt.hasAttribute && elt.hasAttribute("hx-trigger"));
  }

  function polling(elt) {
    return refreshing(elt) && /^\s*every\s/.test(elt.getAttribute("hx-trigger"));
  }

  function lost(event) {
    if (!refreshing(origin(event))) return;
    if (failedAt === null) failedAt = Date.now();
    var xhr = event.detail.xhr;
    failure = "No answer from confops since " + clock(failedAt) +
      (xhr && xhr.status ? " (HTTP " + xhr.status + ")" : "");
    show(failure);
  }

  function back(event) {
    if (!refreshing(origin(event)) || !event.detail.successful) return;
    failedAt = null;
    calmSince = Date.now();
    readStamp();
    clear();
  }

  function behind() {
    if (!interval || failedAt !== null || document.hidden) return;
    var quiet = Date.now() - calmSince;
    if (quiet > 2 * interval * 1000) {
      show("No refresh has answered for " + Math.round(quiet / 1000) + " s");
    }
  }

  function typing(region) {
    if (document.querySelector("dialog[open]")) return true;
    var a = document.activeElement;
    if (!a || a === document.body) return false;
    if (a.isContentEditable || a.tagName === "TEXTAREA") return true;
    if (a.tagName === "INPUT") return !TYPED_NOT.test(a.type || "text");
    // A list that opens is closed by a swap; outside the region nothing is replaced.
    return a.tagName === "SELECT" && !!region && region.contains(a);
  }

  function pause(event) {
    if (!polling(origin(event)) || !typing(event.detail.target)) return;
    event.preventDefault();
    calmSince = Date.now(); // held back on purpose: not a lost connection
  }

  function same(a, b) {
    return a.tagName === b.tagName && a.getAttribute("name") === b.getAttribute("name") &&
      a.getAttribute("value") === b.getAttribute("value") &&
      a.textContent.trim() === b.textContent.trim();
  }

  function remember(event) {
    saved = null;
    var a = document.activeElement, target = event.detail.target;
    if (!refreshing(origin(event)) || !a || a.id || !target || !target.contains(a)) return;
    var anchor = a.parentElement && a.parentElement.closest("[id]");
    if (!anchor) return;
    saved = {
      anchor: anchor.id,
      index: Array.prototype.indexOf.call(anchor.querySelectorAll(FOCUSABLE), a),
      probe: a.cloneNode(true)
    };
  }

  function restore() {
    readStamp();
    if (!saved) return;
    var was = saved;
    saved = null;
    if (document.activeElement && document.activeElement !== document.body) return;
    var anchor = document.getElementById(was.anchor);
    if (!anchor) return;
    var candidates = anchor.querySelectorAll(FOCUSABLE), found = null;
    for (var i = 0; i < candidates.length && !found; i++) {
      if (same(candidates[i], was.probe)) found = candidates[i];
    }
    found = found || candidates[was.index];
    if (found) found.focus({ preventScroll: true });
  }

  function start() {
    readStamp();
    setInterval(behind, 1000);
  }

  document.addEventListener("htmx:sendError", lost);
  document.addEventListener("htmx:responseError", lost);
  document.addEventListener("htmx:timeout", lost);
  document.addEventListener("htmx:afterRequest", back);
  document.addEventListener("htmx:beforeRequest", pause);
  document.addEventListener("htmx:beforeSwap", remember);
  document.addEventListener("htmx:afterSwap", restore);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) calmSince = Date.now(); // a background tab's timers were slowed
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
