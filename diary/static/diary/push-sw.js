/* Web push handlers for the diary's service worker (imported with importScripts).
   A reminder arrives as JSON {title, body, url}; tapping it opens (or focuses) the diary.
   The text is the server's neutral reminder: never the condition, the drug or her answers. */
"use strict";

self.addEventListener("push", function (event) {
  var message = { title: "Study diary", body: "", url: "/diary/" };
  try {
    if (event.data) {
      var data = event.data.json();
      message.title = String(data.title || message.title);
      message.body = String(data.body || "");
      message.url = String(data.url || message.url);
    }
  } catch (error) {
    /* A payload that is not JSON still shows the neutral title. */
  }
  event.waitUntil(
    self.registration.showNotification(message.title, {
      body: message.body,
      data: { url: message.url },
      tag: "diary-reminder",
      renotify: true,
    })
  );
});

self.addEventListener("notificationclick", function (event) {
  event.notification.close();
  var target = new URL((event.notification.data && event.notification.data.url) || "/diary/",
    self.location.origin);
  /* Only the diary's own origin: a payload cannot send her elsewhere. */
  if (target.origin !== self.location.origin) {
    target = new URL("/diary/", self.location.origin);
  }
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
      for (var i = 0; i < windows.length; i += 1) {
        if (new URL(windows[i].url).pathname.indexOf("/diary/") === 0 && "focus" in windows[i]) {
          return windows[i].navigate(target.href).then(function (client) {
            return (client || windows[i]).focus();
          });
        }
      }
      return self.clients.openWindow(target.href);
    })
  );
});
