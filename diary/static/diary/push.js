/* "Turn on notifications on this device": asks the browser's permission only after her tap,
   subscribes with the server's VAPID public key and sends the subscription to the diary.
   "Turn off" unsubscribes here and on the server. Logging out removes it on the server too
   (diary.signals); this script also unsubscribes the browser when the logout form is sent.
   The subscription belongs to the diary's one service worker (/sw.js, scope "/", which
   offline.js registers too; registering it again is harmless) and that worker shows the
   pushed reminders. The box carries data-service-worker, data-scope, data-vapid-key,
   data-subscribe-url and data-unsubscribe-url. */
"use strict";

(function () {
  var box = document.getElementById("push-controls");
  var status = document.getElementById("push-status");

  function say(text) {
    if (status) { status.textContent = text; }
  }

  function csrfToken() {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function keyBytes(base64url) {
    var padded = (base64url + "===".slice((base64url.length + 3) % 4))
      .replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) { bytes[i] = raw.charCodeAt(i); }
    return bytes;
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body),
    });
  }

  function registration() {
    return navigator.serviceWorker.register(box.dataset.serviceWorker, {
      scope: box.dataset.scope,
    }).then(function () { return navigator.serviceWorker.getRegistration(box.dataset.scope); });
  }

  function turnOn() {
    say(box.dataset.textWorking);
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        say(box.dataset.textDenied);
        return null;
      }
      return registration().then(function (reg) {
        return reg.pushManager.getSubscription().then(function (existing) {
          return existing || reg.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: keyBytes(box.dataset.vapidKey),
          });
        });
      }).then(function (subscription) {
        return post(box.dataset.subscribeUrl, subscription.toJSON());
      }).then(function (response) {
        return response.json().then(function (answer) {
          say(response.ok ? box.dataset.textOn : (answer.error || box.dataset.textFailed));
        });
      });
    }).catch(function () { say(box.dataset.textFailed); });
  }

  function turnOff() {
    registration().then(function (reg) {
      return reg.pushManager.getSubscription();
    }).then(function (subscription) {
      if (!subscription) { say(box.dataset.textOff); return null; }
      var endpoint = subscription.endpoint;
      return subscription.unsubscribe().then(function () {
        return post(box.dataset.unsubscribeUrl, { endpoint: endpoint });
      }).then(function () { say(box.dataset.textOff); });
    }).catch(function () { say(box.dataset.textFailed); });
  }

  function unsubscribeOnLogout() {
    document.querySelectorAll("form[action$='/logout/']").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.pushDone) { return; }
        event.preventDefault();
        form.dataset.pushDone = "1";
        var done = function () { form.submit(); };
        navigator.serviceWorker.getRegistration(box.dataset.scope).then(function (reg) {
          return reg ? reg.pushManager.getSubscription() : null;
        }).then(function (subscription) {
          return subscription ? subscription.unsubscribe() : null;
        }).then(done, done);
      });
    });
  }

  if (!box) { return; }
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !("Notification" in window)) {
    say(box.dataset.textUnsupported);
    return;
  }
  box.hidden = false;
  document.getElementById("push-on").addEventListener("click", turnOn);
  document.getElementById("push-off").addEventListener("click", turnOff);
  unsubscribeOnLogout();
})();
