// The admin's rule form shows the typed parameter fields of the selected kind only: choosing
// another kind reloads the form for it (?kind=), as the server builds the fields (issue 18, C1).
(function () {
  "use strict";
  var select = document.getElementById("id_kind");
  if (!select) { return; }
  select.addEventListener("change", function () {
    var url = new URL(window.location.href);
    url.searchParams.set("kind", select.value);
    window.location.assign(url.toString());
  });
})();
