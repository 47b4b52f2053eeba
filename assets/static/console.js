/* minping console: confirmations, reload after a print tab opens, live
   turnout. Every page works without it. Plain ES5. */
(function () {
  "use strict";
  function each(sel, fn) {
    var n = document.querySelectorAll(sel), i;
    for (i = 0; i < n.length; i++) fn(n[i]);
  }

  // Forms that change something that cannot be undone ask first.
  each("form[data-confirm]", function (f) {
    f.addEventListener("submit", function (e) {
      if (!window.confirm(f.getAttribute("data-confirm"))) e.preventDefault();
    });
  });

  // A form that needs one box ticked says so here, before its print tab
  // opens on an error page.
  each("form[data-need-one]", function (f) {
    f.addEventListener("submit", function (e) {
      var name = f.getAttribute("data-need-one");
      if (f.querySelector('input[name="' + name + '"]:checked')) return;
      e.preventDefault();
      var m = f.querySelector(".need-one");
      if (m) { m.hidden = false; m.focus(); }
    });
  });

  // An issue form opens the print sheet in a new tab; this page then reloads
  // to list the new batch and to get a fresh form (each form issues once).
  each("form.issue", function (f) {
    f.addEventListener("submit", function (e) {
      if (e.defaultPrevented) return;
      var b = f.querySelector("button");
      setTimeout(function () { if (b) b.disabled = true; }, 0);
      setTimeout(function () { window.location.reload(); }, 1500);
    });
  });

  // Live turnout: poll the page's JSON and update the figures in place.
  var t = document.getElementById("turnout");
  if (!t) return;
  var src = t.getAttribute("data-src");
  var every = Math.max(parseInt(t.getAttribute("data-every"), 10) || 30, 2) * 1000;
  var status = t.getAttribute("data-status");
  if (status === "closed" || status === "sealed") return;

  function text(key, v) {
    each('[data-t="' + key + '"]', function (n) { n.textContent = v; });
  }
  function bar(el, width, met) {
    if (!el) return;
    var f = el.querySelector(".fill");
    f.style.width = width + "%";
    f.className = "fill" + (met ? " met" : "");
  }
  function cell(c) {
    return c.issued ? c.shown + " / " + c.issued : "未发放";
  }
  function update(d) {
    if (d.status !== status) { window.location.reload(); return; }
    text("shown", d.shown);
    text("issued", d.issued);
    text("percent", d.percent);
    text("updated", d.updated);
    text("status_name", d.status_name);
    bar(document.querySelector('[data-bar="total"]'), d.width, d.met);
    var i, k, u, row, n;
    for (i = 0; i < d.units.length; i++) {
      u = d.units[i];
      row = document.querySelector('tr[data-unit="' + i + '"]');
      if (!row) continue;
      for (k = 0; k < u.cells.length; k++) {
        n = row.querySelector('[data-cell="' + k + '"]');
        if (n) n.textContent = cell(u.cells[k]);
      }
      n = row.querySelector('[data-cell="total"]');
      if (n) n.textContent = u.shown + " / " + u.issued;
      n = row.querySelector("[data-pct]");
      if (n) n.textContent = u.percent;
      bar(row.querySelector(".bar"), u.width, u.met);
    }
  }
  function poll() {
    var x = new XMLHttpRequest();
    x.open("GET", src, true);
    x.setRequestHeader("Accept", "application/json");
    x.onload = function () {
      if (x.status === 401) { text("updated", "登录已过期，请重新登录"); return; }
      if (x.status === 200) {
        try { update(JSON.parse(x.responseText)); } catch (e) {}
      }
      setTimeout(poll, every);
    };
    x.onerror = function () { setTimeout(poll, every); };
    x.send();
  }
  setTimeout(poll, every);
})();
