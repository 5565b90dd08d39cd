// scanstation console: the queue updates itself, and the document page has keys.
// Plain script served from /static: the pages allow no inline script, so text from a scan
// can never run. Text from the station is put into the page with textContent only.
(function () {
  "use strict";

  // The queue: server-sent events from /events carry the queue as JSON whenever it changes.
  function queue(root) {
    var live = document.getElementById("live");
    if (!window.EventSource) {
      setInterval(function () { location.reload(); }, 5000);
      return;
    }
    var failures = 0;
    var es = new EventSource(root.dataset.events);
    es.addEventListener("queue", function (ev) {
      failures = 0;
      if (live) live.hidden = false;
      var q;
      try { q = JSON.parse(ev.data); } catch (e) { return; }
      show(q);
    });
    es.onerror = function () {
      // A broken stream reconnects by itself; one that keeps failing (the session ended, the
      // station restarted) is left for a reload, which also meets the login page if needed.
      failures++;
      if (live) live.hidden = true;
      if (failures >= 3 || es.readyState === EventSource.CLOSED) {
        es.close();
        setTimeout(function () { location.reload(); }, 2000);
      }
    };
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function link(href, text) {
    var a = el("a", text);
    a.href = href;
    return a;
  }

  function show(q) {
    (q.counts || []).forEach(function (c) {
      var n = document.querySelector('[data-count="' + c.key + '"]');
      if (n) n.textContent = String(c.n);
    });
    var token = document.getElementById("token");
    if (token && q.token) {
      token.textContent = q.token.text;
      token.className = "token token-" + q.token.state;
    }
    var review = document.getElementById("review");
    if (review) {
      var rows = document.createDocumentFragment();
      (q.review || []).forEach(function (d) {
        var tr = el("tr");
        var name = el("td");
        name.appendChild(link(d.href, d.name));
        tr.appendChild(name);
        tr.appendChild(el("td", d.folder));
        tr.appendChild(el("td", d.pages, "num"));
        tr.appendChild(el("td", d.updated));
        rows.appendChild(tr);
      });
      review.replaceChildren(rows);
      var none = !(q.review && q.review.length);
      document.getElementById("review-table").hidden = none;
      document.getElementById("review-empty").hidden = !none;
    }
    var errors = document.getElementById("errors");
    if (errors) {
      var items = document.createDocumentFragment();
      (q.errors || []).forEach(function (e) {
        var li = el("li");
        li.appendChild(el("span", e.at, "muted"));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(e.href ? link(e.href, e.name) : el("span", e.name));
        li.appendChild(document.createTextNode(": "));
        li.appendChild(el("span", e.reason));
        items.appendChild(li);
      });
      errors.replaceChildren(items);
      document.getElementById("errors-empty").hidden = !!(q.errors && q.errors.length);
    }
  }

  // The document page's keys: a approve, r reject, j/n next, k/p previous.
  function keys(root) {
    document.addEventListener("keydown", function (ev) {
      if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
      var t = ev.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT|BUTTON)$/.test(t.tagName))) return;
      switch (ev.key) {
        case "a":
          var approve = document.getElementById("approve-form");
          if (approve) { ev.preventDefault(); approve.requestSubmit(); }
          break;
        case "r":
          var reason = document.getElementById("reject-reason");
          if (reason) { ev.preventDefault(); reason.focus(); }
          break;
        case "j": case "n":
          if (root.dataset.next) { ev.preventDefault(); location.href = root.dataset.next; }
          break;
        case "k": case "p":
          if (root.dataset.prev) { ev.preventDefault(); location.href = root.dataset.prev; }
          break;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var q = document.getElementById("queue");
    if (q) queue(q);
    var d = document.getElementById("doc");
    if (d) keys(d);
  });
})();
