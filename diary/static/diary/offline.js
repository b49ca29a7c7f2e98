// The installable, offline-tolerant diary, on every diary page (base.html). Progressive
// enhancement: without it the pages still work online.
// - Registers the service worker (/sw.js, scope "/"), which keeps the app shell and her own
//   pages for use without a network (templates/diary/offline/sw.js).
// - The outbox: answers given while the server cannot be reached wait in IndexedDB, one entry
//   per question (a newer answer replaces the older), and only until the server confirms them.
//   They are sent to the page's own draft endpoint on load, on "online" and when the tab is
//   visible again (Background Sync does not exist on iOS). The server is authoritative: an
//   entry it refuses (400, 404, 409) is dropped with its message; anything else (no network,
//   a login page, a server error) keeps it for the next try. Sending twice stores once.
// - The banner ("Offline: 3 answers not yet sent"), a live region read by screen readers.
// - Logout asks first when answers are unsent; the logged-out page and a new user's first page
//   delete the outbox and the kept pages, so nothing of hers stays on a shared device.
// - A page that answered the login POST (diary/views/login.py, `data-landed`): its own URL
//   goes in the address bar at once (history.replaceState), so a reload or Back/Forward asks
//   for the page, never the login again; after the load event the worker is asked to keep
//   the page, which it does only from a GET of its own.
(function () {
  "use strict";
  var body = document.body;
  var owner = body.dataset.owner || "";
  var banner = document.querySelector("[data-offline-banner]");
  var DB_NAME = "diary-outbox";
  var STORE = "answers";
  var OWNER_KEY = "diary-owner";

  var openDb = function () {
    return new Promise(function (resolve, reject) {
      if (!window.indexedDB) { reject(new Error("no IndexedDB")); return; }
      var request = window.indexedDB.open(DB_NAME, 1);
      request.onupgradeneeded = function () {
        request.result.createObjectStore(STORE, { keyPath: "id" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  };

  // Runs fn(store) in one transaction; resolves with the value fn returns (an IDBRequest's
  // result once the transaction completed).
  var withStore = function (mode, fn) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var out = fn(tx.objectStore(STORE));
        tx.oncomplete = function () {
          db.close();
          resolve(out && typeof out === "object" && "readyState" in out ? out.result : out);
        };
        tx.onerror = function () { db.close(); reject(tx.error); };
        tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  };

  var entries = function () {
    return withStore("readonly", function (store) { return store.getAll(); });
  };

  // Removes the entry only if it is still the one that was sent: an answer changed while it
  // was on its way stays in the outbox.
  var removeSent = function (entry) {
    return withStore("readwrite", function (store) {
      var request = store.get(entry.id);
      request.onsuccess = function () {
        if (request.result && request.result.stamp === entry.stamp) { store.delete(entry.id); }
      };
    });
  };

  var clearDevice = function () {
    var done = [withStore("readwrite", function (store) { store.clear(); }).catch(function () {})];
    if (navigator.serviceWorker && navigator.serviceWorker.controller) {
      navigator.serviceWorker.controller.postMessage({ type: "clear" });
    }
    if (window.caches) { done.push(window.caches.delete("diary-pages").catch(function () {})); }
    return Promise.all(done);
  };

  var pendingCount = function () {
    return entries().then(function (list) {
      return list.filter(function (e) { return e.owner === owner; }).length;
    }).catch(function () { return 0; });
  };

  var show = function () {
    if (!banner) { return Promise.resolve(0); }
    return pendingCount().then(function (n) {
      var offline = navigator.onLine === false;
      var text = "";
      if (n > 0) {
        var template = offline
          ? (n === 1 ? banner.dataset.offlineOne : banner.dataset.offlineMany)
          : (n === 1 ? banner.dataset.sendingOne : banner.dataset.sendingMany);
        text = template.replace("%(n)s", String(n));
      } else if (offline) {
        text = banner.dataset.offlineNone;
      }
      if (banner.textContent !== text) { banner.textContent = text; }
      banner.classList.toggle("alert", text !== "");
      banner.classList.toggle("alert-warning", text !== "");
      return n;
    });
  };

  var persistAsked = false;
  var askPersistence = function () {
    // Asks the browser not to evict the outbox under storage pressure (it may say no).
    if (!persistAsked && navigator.storage && navigator.storage.persist) {
      persistAsked = true;
      navigator.storage.persist().catch(function () {});
    }
  };

  // entry: {path, item, value ("" = cleared), meta: {name: value}, deviceTime: ms}
  var put = function (entry) {
    askPersistence();
    var stored = {
      id: owner + "|" + entry.path + "|" + entry.item,
      owner: owner,
      path: entry.path,
      item: entry.item,
      value: entry.value,
      meta: entry.meta || {},
      deviceTime: entry.deviceTime,
      stamp: String(Date.now()) + "-" + String(Math.random()).slice(2),
    };
    return withStore("readwrite", function (store) { store.put(stored); }).then(show);
  };

  var csrfToken = function () {
    var field = document.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  };

  var messages = [];
  var send = function (entry) {
    var data = new FormData();
    var token = csrfToken();
    data.append("csrfmiddlewaretoken", token);
    data.append("outbox_item", entry.item);
    data.append(entry.item, entry.value);
    Object.keys(entry.meta).forEach(function (name) { data.append(name, entry.meta[name]); });
    data.append("device_time", String(entry.deviceTime));
    return fetch(entry.path, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-Autosave": "1", "X-CSRFToken": token },
    }).then(function (response) {
      var json = (response.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      var refused = [400, 404, 409].indexOf(response.status) >= 0;
      if (!(json && (response.ok || refused)) && response.status !== 404) {
        throw new Error("not confirmed");  // kept: a login page, a CSRF refusal, a 5xx
      }
      var reason = json ? response.json() : Promise.resolve({});
      return reason.then(function (result) {
        if (!response.ok) { messages = messages.concat(result.errors || []); }
        return removeSent(entry);
      });
    });
  };

  var flushing = null;
  var flush = function () {
    if (flushing || !owner) { return flushing || show(); }
    messages = [];
    flushing = entries().then(function (list) {
      var chain = Promise.resolve();
      list.forEach(function (entry) {
        chain = chain.then(function () {
          // Another user's unsent answers on this device are not hers to send: dropped.
          if (entry.owner !== owner) { return removeSent(entry); }
          return send(entry);
        });
      });
      return chain;  // stops at the first entry that could not be sent; the rest wait
    }).catch(function () {}).then(function () {
      flushing = null;
      if (messages.length && banner) {
        document.dispatchEvent(new CustomEvent("diary:outbox-refused", { detail: messages }));
      }
      return show();
    });
    return flushing;
  };

  // Puts her unsent answers back into the page (a page kept by the service worker shows the
  // answers of the moment it was kept).
  var restore = function (form) {
    return entries().then(function (list) {
      list.forEach(function (entry) {
        if (entry.owner !== owner || entry.path !== window.location.pathname) { return; }
        var inputs = form.querySelectorAll('input[type=radio][name="' + entry.item + '"]');
        inputs.forEach(function (input) { input.checked = input.value === entry.value; });
        var clear = form.querySelector('[data-clear="' + entry.item + '"]');
        if (clear && inputs.length) { clear.hidden = entry.value === ""; }
      });
    }).catch(function () {});
  };

  var landed = body.dataset.landed || "";
  if (landed && window.history && window.history.replaceState) {
    window.history.replaceState(window.history.state, "", landed);
  }

  // Asks the worker (once it is ready: on a first visit it installs from this page) to fetch
  // and keep the page she landed on; after the load event, so that it never delays it.
  var keepLanded = function () {
    if (!landed || !("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.ready.then(function (registration) {
      if (registration.active) { registration.active.postMessage({ type: "keep", url: landed }); }
    }).catch(function () {});
  };

  var start = function () {
    if (body.dataset.clearDevice === "1") {
      clearDevice();
      return;
    }
    if ("serviceWorker" in navigator && owner) {
      navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(function () {});
    }
    if (!owner) {
      // The login page: whoever comes next must not open the last user's kept pages offline.
      if (window.caches) { window.caches.delete("diary-pages").catch(function () {}); }
      return;
    }
    try {
      if (window.localStorage.getItem(OWNER_KEY) !== owner) {
        // Another user was logged in here last: nothing of theirs is kept for this one.
        if (window.caches) { window.caches.delete("diary-pages").catch(function () {}); }
        window.localStorage.setItem(OWNER_KEY, owner);
      }
    } catch (ignored) { /* private mode: no localStorage; the owner check still applies */ }
    if (document.readyState === "complete") {
      keepLanded();
    } else {
      window.addEventListener("load", function () { window.setTimeout(keepLanded, 0); });
    }
    window.addEventListener("online", flush);
    window.addEventListener("offline", show);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") { flush(); }
    });
    document.querySelectorAll("form[data-logout]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.dataset.confirmed === "1") { return; }
        event.preventDefault();
        pendingCount().then(function (n) {
          if (n > 0 && !window.confirm(form.dataset.unsentWarning.replace("%(n)s", String(n)))) {
            return;
          }
          clearDevice().then(function () {
            form.dataset.confirmed = "1";
            form.submit();
          });
        });
      });
    });
    flush();
  };

  window.diaryOutbox = { put: put, flush: flush, restore: restore, show: show };
  start();
})();
