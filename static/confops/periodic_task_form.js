// django-celery-beat's periodic task form (templates/admin/djcelery/change_periodictask_form.html):
// below the crontab field, the chosen crontab in words. Its own inline script, moved here so the
// admin runs under the Content-Security-Policy; text nodes instead of HTML, as the words are data.
(function () {
  var script = document.currentScript;
  var $ = window.django && window.django.jQuery;
  var data = document.getElementById("readable-crontabs");
  if (!$ || !data) return;
  var readable = JSON.parse(data.textContent);
  var original = script.dataset.crontabHelp || "";

  $(".field-crontab_translation").hide();
  $(".field-crontab").on("change", function () {
    var help = $(".field-crontab .help").empty();
    help.append(document.createTextNode(original), document.createElement("br"));
    help.append(document.createTextNode("Translation: " + (readable[$("#id_crontab").val()] || "")));
  });
})();
