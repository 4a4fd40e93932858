/* nija balances dashboard: keeps the page current without a reload.
 *
 * Every few seconds (the body's data-poll) it asks for this same page with the ETag it
 * has; the server answers 304 until its next refresh. A new page replaces, in place, each
 * part marked data-live whose content changed (keeping open <details> open), or the whole
 * of <main> when the parts themselves changed (a user added or removed). The page works
 * without this script: it is the server's HTML either way. No dependency, no CDN.
 */
(function () {
  "use strict";
  var body = document.body;
  var every = Math.max(1, Number(body.getAttribute("data-poll")) || 10) * 1000;
  var etag = body.getAttribute("data-etag") || "";
  var offline = document.getElementById("offline");

  function liveIds(root) {
    return Array.prototype.map.call(root.querySelectorAll("[data-live][id]"), function (el) {
      return el.id;
    }).join(" ");
  }

  function openDetails() {
    var open = {};
    Array.prototype.forEach.call(document.querySelectorAll("details[id][open]"), function (d) {
      open[d.id] = true;
    });
    return open;
  }

  function reopen(open) {
    Object.keys(open).forEach(function (id) {
      var d = document.getElementById(id);
      if (d) { d.open = true; }
    });
  }

  function swap(doc) {
    var open = openDetails();
    var main = document.getElementById("main");
    var fresh = doc.getElementById("main");
    if (!main || !fresh) { return; }
    if (liveIds(main) !== liveIds(fresh)) {
      main.replaceWith(document.adoptNode(fresh));
    } else {
      Array.prototype.forEach.call(fresh.querySelectorAll("[data-live][id]"), function (el) {
        var old = document.getElementById(el.id);
        if (old && old.innerHTML !== el.innerHTML) {
          old.replaceWith(document.adoptNode(el));
        }
      });
    }
    ["updated", "config-note"].forEach(function (id) {
      var now = doc.getElementById(id);
      var old = document.getElementById(id);
      if (now && old) { old.replaceWith(document.adoptNode(now)); }
    });
    document.title = doc.title;
    body.setAttribute("data-etag", etag);
    reopen(open);
  }

  function poll() {
    var headers = { "Accept": "text/html" };
    if (etag) { headers["If-None-Match"] = etag; }
    fetch(location.pathname + location.search, {
      headers: headers, cache: "no-store", credentials: "same-origin", redirect: "error"
    }).then(function (response) {
      if (offline) { offline.hidden = response.ok || response.status === 304; }
      if (response.status === 304 || !response.ok) { return null; }
      etag = response.headers.get("ETag") || "";
      return response.text();
    }).then(function (html) {
      if (html) { swap(new DOMParser().parseFromString(html, "text/html")); }
    }).catch(function () {
      if (offline) { offline.hidden = false; }
    }).then(function () {
      window.setTimeout(poll, every);
    });
  }

  window.setTimeout(poll, every);
})();
