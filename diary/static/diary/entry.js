// Questionnaire pages, progressive enhancement: the pages work without this script.
// - Saves the page's answers as a draft whenever one changes (POST with X-Autosave: 1), so a
//   reload or a lost connection loses nothing; the server keeps the draft, not the browser.
// - Shows "Clear this answer" once an item is answered.
// - Disables a submit button after the first press (the server refuses a second submission
//   anyway; this only spares the participant a confusing second page).
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (form) {
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    var say = function (text) { if (status) { status.textContent = text; } };
    var save = function () {
      var body = new FormData(form);
      var token = body.get("csrfmiddlewaretoken");
      fetch(window.location.pathname, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-Autosave": "1", "X-CSRFToken": token },
      }).then(function (response) {
        return response.json().then(function (data) {
          say(data.saved ? form.dataset.savedText || "Saved" : (data.errors || []).join(" "));
        });
      }).catch(function () {
        say(form.dataset.offlineText || "Not saved yet: check your connection. Your answers are saved when you press Next.");
      });
    };
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target && target.name) {
        var clear = form.querySelector('[data-clear="' + target.name + '"]');
        if (clear) { clear.hidden = target.value === ""; }
      }
      window.clearTimeout(timer);
      timer = window.setTimeout(save, 300);
    });
  }
  document.querySelectorAll("form[data-submit-once]").forEach(function (once) {
    once.addEventListener("submit", function () {
      once.querySelectorAll("button[type=submit]").forEach(function (button) {
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  });
})();
