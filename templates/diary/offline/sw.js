// The diary's service worker, served by Django at /sw.js (diary/views/offline.py), scope "/".
//
// What it does, and only this:
// - static files (the app shell: styles, scripts, icons): cache first, precached at install;
// - participant pages the server marked cacheable (the response header X-Offline-Cache, sent
//   only on her own home and questionnaire pages): network first, the cached copy when the
//   network fails, so her open questionnaire loads on a train; any other page (login, admin,
//   staff pages, another user's) is never stored;
// - a message {type: "clear"} (sent at logout and on the login page) deletes the cached pages;
// - a message {type: "keep", url} (from a page that answered the login POST, which is not
//   a GET it could keep): fetches that diary page and keeps it as it would keep it network
//   first (only a 200 marked X-Offline-Cache);
// - web push: a reminder (JSON {title, body, url}) is shown as a notification, and tapping it
//   opens or focuses the diary (the subscription is made by push.js, with this same worker:
//   a browser keeps one worker per scope, so the diary has this one only).
// POSTs are never touched: answers go to the server, or to the page's outbox (offline.js).
"use strict";

const VERSION = "{{ version }}";
const STATIC_PREFIX = "{{ static_prefix }}";
const PRECACHE = {{ precache|safe }};
const STATIC_CACHE = "diary-static-" + VERSION;
const PAGE_CACHE = "diary-pages";
const CACHEABLE_HEADER = "X-Offline-Cache";

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.open(STATIC_CACHE)
      .then(function (cache) { return cache.addAll(PRECACHE); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches.keys().then(function (names) {
      return Promise.all(names.filter(function (name) {
        return name.indexOf("diary-static-") === 0 && name !== STATIC_CACHE;
      }).map(function (name) { return caches.delete(name); }));
    }).then(function () { return self.clients.claim(); })
  );
});

function staticFirst(request) {
  return caches.open(STATIC_CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      if (hit) { return hit; }
      return fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()); }
        return response;
      });
    });
  });
}

// Shown for a diary page she never opened here while there is no network.
const OFFLINE_HTML = {{ offline_html|safe }};

function offlinePage() {
  return new Response(OFFLINE_HTML, {
    status: 503,
    headers: { "Content-Type": "text/html; charset=utf-8" },
  });
}

// Counts the {type: "clear"} messages. A page fetched before a clear and answered after it
// (logging out while the page's own fetch, or a "keep", is still on its way: seconds on a slow
// line) is not stored: it would put her page back in the cache the logout has just emptied.
let cleared = 0;

function pageStore(request, response, clearedBefore) {
  if (clearedBefore !== cleared) { return Promise.resolve(); }
  return caches.open(PAGE_CACHE).then(function (cache) {
    if (clearedBefore !== cleared) { return undefined; }
    return cache.put(request, response);
  });
}

function pageNetworkFirst(request) {
  const clearedBefore = cleared;
  return fetch(request).then(function (response) {
    if (response.ok && !response.redirected && response.headers.get(CACHEABLE_HEADER) === "1") {
      pageStore(request, response.clone(), clearedBefore);
    }
    return response;
  }).catch(function () {
    // ignoreVary: a page kept from the worker's own fetch ({type: "keep"}) was asked for
    // without the navigation's headers (the page's Vary: Accept-Language, Cookie). The cache
    // holds only her pages: it is emptied at logout, on the login page and for another user.
    return caches.open(PAGE_CACHE).then(function (cache) {
      return cache.match(request, { ignoreSearch: true, ignoreVary: true });
    }).then(function (hit) { return hit || offlinePage(); });
  });
}

self.addEventListener("fetch", function (event) {
  const request = event.request;
  if (request.method !== "GET") { return; }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf(STATIC_PREFIX) === 0) {
    event.respondWith(staticFirst(request));
  } else if (request.mode === "navigate" && url.pathname.indexOf("/diary/") === 0) {
    event.respondWith(pageNetworkFirst(request));
  }
});

function keepPage(url) {
  var target = new URL(String(url), self.location.origin);
  if (target.origin !== self.location.origin || target.pathname.indexOf("/diary/") !== 0) {
    return Promise.resolve();
  }
  var request = new Request(target.href, { credentials: "same-origin" });
  var clearedBefore = cleared;
  return fetch(request).then(function (response) {
    if (response.ok && !response.redirected && response.headers.get(CACHEABLE_HEADER) === "1") {
      return pageStore(request, response, clearedBefore);
    }
    return undefined;
  }).catch(function () { /* no network: the page is kept the next time she opens it */ });
}

self.addEventListener("message", function (event) {
  if (event.data && event.data.type === "clear") {
    cleared += 1;
    event.waitUntil(caches.delete(PAGE_CACHE));
  } else if (event.data && event.data.type === "keep") {
    event.waitUntil(keepPage(event.data.url));
  }
});

// Web push. The text is the server's neutral reminder: never the condition, the drug or her
// answers.

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
