// Questionnaire pages, progressive enhancement: the pages work without this script.
// - Saves the page's answers as a draft whenever one changes (POST with X-Autosave: 1 and the
//   device's clock as device_time), so a reload loses nothing; the server keeps the draft.
//   Without a connection the unsent answers go to the outbox (offline.js) and are sent later.
//   A tapped answer is sent at once, with keepalive so that leaving the page does not cancel
//   it; what is still unconfirmed when she leaves is sent again then.
// - Shows "Clear this answer" once an item is answered.
// - Disables a submit button after the first press (the server refuses a second submission
//   anyway; this only spares the participant a confusing second page).
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  var outbox = window.diaryOutbox;
  if (form) {
    var status = form.querySelector("[data-autosave-status]");
    var timer = null;
    // Questions answered since the server last confirmed this page: name -> device time (ms).
    var pending = {};
    var say = function (text) { if (status) { status.textContent = text; } };
    var metaOf = function (name) {
      var meta = {};
      if (form.querySelector('[data-vas] input[name="' + name + '"]')) {
        form.querySelectorAll('input[name^="meta_"]').forEach(function (input) {
          meta[input.name] = input.value;
        });
      }
      return meta;
    };
    // No connection: each unsent answer waits in the outbox (offline.js) instead.
    var keep = function () {
      var names = Object.keys(pending);
      if (!outbox || !names.length) { return Promise.resolve(false); }
      var body = new FormData(form);
      return Promise.all(names.map(function (name) {
        return outbox.put({
          path: window.location.pathname,
          item: name,
          value: body.get(name) || "",
          meta: metaOf(name),
          deviceTime: pending[name],
        });
      })).then(function () {
        names.forEach(function (name) { delete pending[name]; });
        say(form.dataset.keptText || "");
        return true;
      });
    };
    // keepalive: the request outlives the page, so an answer on its way when she leaves
    // (a link, the browser's Back, closing the tab) still reaches the server.
    var inflight = false;
    var again = false;
    var send = function () {
      var sent = Object.assign({}, pending);
      var body = new FormData(form);
      var token = body.get("csrfmiddlewaretoken");
      body.append("device_time", String(Date.now()));
      return fetch(window.location.pathname, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        keepalive: true,
        headers: { "X-Autosave": "1", "X-CSRFToken": token },
      }).then(function (response) {
        return response.json().then(function (data) {
          Object.keys(sent).forEach(function (name) {
            if (pending[name] === sent[name]) { delete pending[name]; }
          });
          return data;
        });
      });
    };
    // One save at a time: answers tapped while one is on its way go in the next, and "Saved"
    // is said only when the server has every answer of the page.
    var save = function () {
      if (navigator.onLine === false) { keep(); return; }
      if (inflight) { again = true; return; }
      inflight = true;
      say("");  // an earlier "Saved" no longer covers the answer on its way
      send().then(function (data) {
        inflight = false;
        if (again) { again = false; save(); return; }
        say(data.saved ? form.dataset.savedText || "Saved" : (data.errors || []).join(" "));
      }).catch(function () {
        inflight = false;
        again = false;
        keep().then(function (kept) {
          if (!kept) {
            say(form.dataset.offlineText || "Not saved yet: check your connection. Your answers are saved when you press Next.");
          }
        });
      });
    };
    form.addEventListener("change", function (event) {
      var target = event.target;
      if (target && target.name) {
        var clear = form.querySelector('[data-clear="' + target.name + '"]');
        if (clear) { clear.hidden = target.value === ""; }
        if (target.name.indexOf("meta_") !== 0) { pending[target.name] = Date.now(); }
      }
      window.clearTimeout(timer);
      // A tap (a choice, a mark on the line) is sent at once, so a link or the browser's Back
      // pressed right after it cannot overtake it; typing waits for a pause.
      var typed = target && (target.type === "text" || target.type === "number" ||
        target.tagName === "TEXTAREA");
      if (typed) { timer = window.setTimeout(save, 300); } else { save(); }
    });
    // Leaving the page: whatever the server has not confirmed yet (not sent, or on its way on
    // a slow network and cut off by the navigation) is sent now. Next and Back carry the
    // page's answers in their own POST, so nothing is sent twice for them.
    var submitted = false;
    var leave = function () {
      window.clearTimeout(timer);
      if (!submitted && Object.keys(pending).length) { send().catch(function () { keep(); }); }
    };
    window.addEventListener("pagehide", leave);
    window.addEventListener("pageshow", function () { submitted = false; });  // back from the cache
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { leave(); }
    });
    // Offline, Next or Back would lead to the browser's error page: she stays, her answers
    // wait in the outbox, and the page says so.
    form.addEventListener("submit", function (event) {
      if (navigator.onLine !== false || !outbox) {
        window.clearTimeout(timer);
        submitted = true;
        return;
      }
      event.preventDefault();
      window.clearTimeout(timer);
      keep().then(function () { say(form.dataset.stayText || ""); });
    });
    if (outbox) { outbox.restore(form); }
    document.addEventListener("diary:outbox-refused", function (event) {
      say(event.detail.join(" "));
    });
  }
  document.querySelectorAll("form[data-submit-once]").forEach(function (once) {
    once.addEventListener("submit", function () {
      // The device's clock at the press, kept beside the server's receipt time (honest time).
      var clock = once.querySelector("input[name=device_time]");
      if (clock) { clock.value = String(Date.now()); }
      once.querySelectorAll("button[type=submit]").forEach(function (button) {
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  });
})();
