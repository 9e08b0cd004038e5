// The status page's run timeline on a touch screen (issue 18). A failed run is a link to the
// run in Dagster whose tip (status, start, duration, error) shows while it has focus. A tap
// focuses and follows at once, so on a phone the tip never showed: the first tap on a bar
// that has not the focus only focuses it (opening its tip), a second tap follows the link.
// Mouse and keyboard keep following it at once (hover and focus already show the tip).
// Listeners sit on the document, so the htmx refreshes that replace the bars need nothing.
(function () {
  "use strict";
  var focusedBefore = null;
  var touched = false;

  document.addEventListener("pointerdown", function (event) {
    touched = event.pointerType === "touch" || event.pointerType === "pen";
    focusedBefore = document.activeElement;
  }, true);

  document.addEventListener("click", function (event) {
    var bar = event.target instanceof Element ? event.target.closest("a.bar[href]") : null;
    if (!bar || !touched || focusedBefore === bar) {
      return;
    }
    event.preventDefault();
    bar.focus();
  });
})();
