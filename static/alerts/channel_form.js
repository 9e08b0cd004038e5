// The channel form in the admin (alerts/admin.py ChannelForm): when a kind is chosen, the help
// under config and secret becomes that kind's (its settings, an example, what its secret is),
// read from the chosen option's data attributes. Text nodes only: the help is data.
(function () {
  function show(fieldId, text) {
    var help = document.getElementById(fieldId + "_helptext");
    if (!help) return;
    var target = help.firstElementChild || help;
    target.textContent = text;
  }

  function update(select) {
    var option = select.options[select.selectedIndex];
    if (!option || !option.dataset.configHelp) return;
    var config = document.getElementById("id_config");
    var secret = document.getElementById("id_secret");
    var after = (config && config.dataset.helpAfter) || "";
    var before = (secret && secret.dataset.helpBefore) || "";
    show("id_config", option.dataset.configHelp + after);
    show("id_secret", before + option.dataset.secretHelp);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var select = document.getElementById("id_kind");
    if (!select) return;
    select.addEventListener("change", function () { update(select); });
  });
})();
